#include "io/regular_file.hpp"

#include <sys/stat.h>

#include "core/error.hpp"

namespace convoy {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "something other than a file";
}

}  // namespace

void require_regular_file(const std::string& path, const std::string& what) {
  struct stat st = {};
  if (::stat(path.c_str(), &st) != 0) return;
  CONVOY_CHECK(S_ISREG(st.st_mode), IoError, what, " '", path, "': expected a regular file, found ",
               kind_of(st.st_mode));
}

}  // namespace convoy
