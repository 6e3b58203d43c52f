#include "io/file_identity.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "core/error.hpp"

namespace convoy {

FileIdentity FileIdentity::of(const std::string& path, const std::string& what) {
  struct stat st {};
  CONVOY_CHECK(::stat(path.c_str(), &st) == 0, IoError, what, " '", path, "': cannot stat it any more (",
               std::strerror(errno), ")");
  return {.device = static_cast<uint64_t>(st.st_dev),
          .inode = static_cast<uint64_t>(st.st_ino),
          .size = static_cast<int64_t>(st.st_size),
          .modified_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

std::string FileIdentity::changes_to(const FileIdentity& now) const {
  if (device != now.device || inode != now.inode) return "it was replaced by another file";
  if (size != now.size)
    return "its size went from " + std::to_string(size) + " to " + std::to_string(now.size) + " bytes";
  if (modified_ns != now.modified_ns) return "it was written to (its modification time changed)";
  return "";
}

}  // namespace convoy
