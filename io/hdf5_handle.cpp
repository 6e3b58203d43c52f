#include "io/hdf5_handle.hpp"

#include <filesystem>
#include <system_error>

#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace convoy::h5 {

void silence_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

namespace {
herr_t append_error(unsigned depth, const H5E_error2_t* error, void* client) {
  auto& text = *static_cast<std::string*>(client);
  if (!text.empty()) text += "; ";
  text += error->func_name != nullptr ? error->func_name : "?";
  text += ": ";
  text += error->desc != nullptr ? error->desc : "(no description)";
  // Some descriptions embed newlines (HDF5 prints a ctime() stamp); messages stay one line.
  for (char& ch : text) {
    if (ch == '\n' || ch == '\r') ch = ' ';
  }
  return 0;
}
}  // namespace

std::string take_error_stack() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, append_error, &text);
  H5Eclear2(H5E_DEFAULT);
  return text.empty() ? std::string("no HDF5 error recorded") : text;
}

void fail(const std::string& file, const char* what) {
  throw IoError(detail::concat("HDF5 file '", file, "': ", what, " failed: ", take_error_stack()));
}

void create_file_atomically(const std::string& path, const char* kind,
                            const std::function<void(hid_t file, const std::string& tmp)>& fill) {
  silence_errors();
  const std::string tmp = atomic_temp_path(path);
  try {
    {
      Handle file = checked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose, tmp,
                            "H5Fcreate");
      fill(file.get(), tmp);
      check(H5Fclose(file.release()), tmp, "H5Fclose");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    CONVOY_CHECK(!ec, IoError, kind, " '", path, "': cannot rename the finished temporary file onto it: ",
                 ec.message());
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

}  // namespace convoy::h5
