// A folder one run writes into (checkpoints): checked writable, locked, cleared of dead temporaries.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace convoy {

// Creates `dir` (and its parents) if needed, then creates, writes and removes a probe file in
// it, so a folder that cannot take a file is found before any work depends on it. Throws
// IoError naming the folder, the step that failed and the system's reason.
void prepare_writable_folder(const std::string& dir);

// Note [Run folder lock]
// An advisory lock (flock) on <dir>/.convoy.lock, held while the object lives, so two runs
// never write and prune one checkpoint folder at once. The holder writes "pid P on host H"
// into the file for the message the next one gets. flock is per open file, released when the
// process ends however it ends; on NFS Linux maps it to a POSIX lock.
class FolderLock {
 public:
  // Throws IoError naming the folder and the holder when another process holds the lock.
  explicit FolderLock(const std::string& dir);
  FolderLock(FolderLock&& other) noexcept;
  FolderLock& operator=(FolderLock&&) = delete;
  FolderLock(const FolderLock&) = delete;
  ~FolderLock();

  static std::string lock_path(const std::string& dir);

 private:
  int fd_ = -1;
};

// Removes the temporaries of interrupted atomic writes in `dir` (see atomic_temp_path) whose
// final name satisfies `is_target`, and returns their paths. Call it only while holding the
// folder's lock: then no live writer of this kind can own them.
std::vector<std::string> remove_stale_temporaries(const std::string& dir,
                                                  const std::function<bool(const std::string&)>& is_target);

}  // namespace convoy
