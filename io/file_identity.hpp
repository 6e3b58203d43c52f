// FileIdentity: which file a path names and in what state (device, inode, size, modification time).
#pragma once

#include <cstdint>
#include <string>

namespace convoy {

// Note [Dataset file identity]
// A dataset truncated, rewritten or replaced while a run reads it does not make HDF5 fail: reads
// past the new end of file come back as zeros (the sec2 driver fills them), so training went on,
// on zeros, to a low accuracy and exit code 0. The reader records the file's identity when it
// opens it and compares it after every read (one stat call a batch): any change ends the run
// with a message naming the file and what changed, before the batch is used.
struct FileIdentity {
  uint64_t device = 0, inode = 0;
  int64_t size = 0;
  int64_t modified_ns = 0;  // st_mtim

  // The identity of the file at `path` now. Throws IoError naming `what` and the path if it
  // cannot be stat'ed (it was removed).
  static FileIdentity of(const std::string& path, const std::string& what);

  // "" when `now` is the same file in the same state; otherwise what changed, e.g.
  // "its size went from 5320 to 2048 bytes".
  std::string changes_to(const FileIdentity& now) const;
};

}  // namespace convoy
