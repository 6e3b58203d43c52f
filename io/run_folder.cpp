#include "io/run_folder.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/error.hpp"
#include "io/atomic_file.hpp"

namespace convoy {
namespace {

namespace fs = std::filesystem;

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

void prepare_writable_folder(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  CONVOY_CHECK(!ec, IoError, "folder '", dir, "': cannot create it: ", ec.message());
  CONVOY_CHECK(fs::is_directory(dir, ec), IoError, "folder '", dir, "': exists but is not a folder");
  const std::string probe = (fs::path(dir) / (".convoy-probe-" + std::to_string(::getpid()))).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  CONVOY_CHECK(fd >= 0, IoError, "folder '", dir, "': cannot write in it: creating '", probe, "' failed: ",
               std::strerror(errno));
  const bool written = ::write(fd, "x", 1) == 1;
  const int write_errno = errno;
  ::close(fd);
  const bool removed = ::unlink(probe.c_str()) == 0;
  CONVOY_CHECK(written, IoError, "folder '", dir, "': cannot write in it: writing '", probe, "' failed: ",
               std::strerror(write_errno));
  CONVOY_CHECK(removed, IoError, "folder '", dir, "': cannot remove files in it: removing '", probe, "' failed: ",
               std::strerror(errno));
}

std::string FolderLock::lock_path(const std::string& dir) { return (fs::path(dir) / ".convoy.lock").string(); }

FolderLock::FolderLock(const std::string& dir) {
  const std::string path = lock_path(dir);
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  CONVOY_CHECK(fd_ >= 0, IoError, "folder '", dir, "': cannot open its lock file '", path, "': ", std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char holder[256] = {};
    const ssize_t n = ::pread(fd_, holder, sizeof holder - 1, 0);
    std::string who = n > 0 ? std::string(holder, static_cast<size_t>(n)) : "";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    ::close(fd_);
    fd_ = -1;
    CONVOY_CHECK(err != EWOULDBLOCK, IoError, "folder '", dir, "' is in use by another convoy run (",
                 who.empty() ? "holder unknown" : who, ", lock file '", path,
                 "'); give each run its own folder, or wait for that run to end");
    throw IoError(detail::concat("folder '", dir, "': cannot lock '", path, "': ", std::strerror(err)));
  }
  const std::string me = "pid " + std::to_string(::getpid()) + " on " + host_name() + "\n";
  if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
    // The lock holds without the note; only the next run's message is poorer.
  }
}

FolderLock::FolderLock(FolderLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FolderLock::~FolderLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays (removing it would race a waiting run)
}

std::vector<std::string> remove_stale_temporaries(const std::string& dir,
                                                  const std::function<bool(const std::string&)>& is_target) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const auto target = atomic_temp_target(entry.path().filename().string());
    if (!target || !is_target(*target) || !entry.is_regular_file(ec)) continue;
    if (fs::remove(entry.path(), ec)) removed.push_back(entry.path().string());
  }
  return removed;
}

}  // namespace convoy
