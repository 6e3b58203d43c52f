// HDF5 identifiers owned RAII-style, and the one check that turns the HDF5 error stack into an IoError.
#pragma once

#include <hdf5.h>

#include <functional>
#include <string>
#include <utility>

namespace convoy::h5 {

// Turns off HDF5's automatic printing of errors for the calling thread (the thread-safe build
// keeps the setting per thread), so a failure reaches the user once: in the exception text.
// Every public io function that touches HDF5 calls it first, on whichever thread it runs.
void silence_errors();

// The calling thread's HDF5 error stack as one line ("H5Dopen2: unable to open dataset; ..."),
// innermost cause last; clears the stack.
std::string take_error_stack();

// Throws IoError "HDF5 file '<file>': <what> failed: <error stack>".
[[noreturn]] void fail(const std::string& file, const char* what);

// Every HDF5 call goes through check(): negative ids and statuses become an IoError that names
// the file, the operation and the HDF5 error stack.
template <typename Ret>
Ret check(Ret ret, const std::string& file, const char* what) {
  if (ret < 0) [[unlikely]] fail(file, what);
  return ret;
}

// Owns one HDF5 identifier and closes it with the function that matches its kind.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);

  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), close_(other.close_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, -1);
      close_ = other.close_;
    }
    return *this;
  }
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  // Gives up ownership without closing, for callers that close by hand and check the result.
  hid_t release() { return std::exchange(id_, -1); }
  bool valid() const { return id_ >= 0; }
  // Closing errors are ignored: there is nothing useful to do with them in a destructor.
  void reset() {
    if (id_ >= 0 && close_ != nullptr) close_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer close_ = nullptr;
};

// Wraps a freshly made id after checking it; `close` is H5Fclose, H5Dclose, H5Sclose, ...
inline Handle checked(hid_t id, Handle::Closer close, const std::string& file, const char* what) {
  return Handle(check(id, file, what), close);
}

// Creates an HDF5 file at a temporary name beside `path`, lets `fill` write it (given the open
// file and the temporary name for messages), closes it and renames it onto `path`. On any
// failure the temporary is removed and `path` is left as it was; `kind` ("weights file")
// starts the rename error's message.
void create_file_atomically(const std::string& path, const char* kind,
                            const std::function<void(hid_t file, const std::string& tmp)>& fill);

}  // namespace convoy::h5
