#include "io/hdf5_handle.hpp"

#include "core/error.hpp"

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

}  // namespace convoy::h5
