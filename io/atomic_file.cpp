#include "io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "core/error.hpp"

namespace convoy {
namespace {

// Closes the descriptor and removes the temporary file unless the write was committed.
class TempFile {
 public:
  TempFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  // close() reports delayed write errors (NFS), so its result is checked, once.
  int close() { return ::close(std::exchange(fd_, -1)); }
  void commit() { committed_ = true; }

 private:
  std::string path_;
  int fd_;
  bool committed_ = false;
};

[[noreturn]] void fail(const std::string& path, const char* step, const std::string& what, int err) {
  throw IoError(detail::concat("cannot write '", path, "': ", step, " ", what, " failed: ", std::strerror(err)));
}

}  // namespace

std::string atomic_temp_path(const std::string& path) {
  const std::filesystem::path p(path);
  return (p.parent_path() / ("." + p.filename().string() + ".tmp-" + std::to_string(::getpid()))).string();
}

std::optional<std::string> atomic_temp_target(const std::string& filename) {
  const size_t tmp = filename.rfind(".tmp-");
  if (filename.size() < 2 || filename[0] != '.' || tmp == std::string::npos || tmp <= 1) return std::nullopt;
  const std::string pid = filename.substr(tmp + 5);
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return filename.substr(1, tmp - 1);
}

void write_file_atomically(const std::string& path, std::span<const std::span<const std::byte>> pieces) {
  const std::string temp_path = atomic_temp_path(path);
  // 0666 lets the umask decide the final mode, as for any file the user's programs create.
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) fail(path, "creating", "'" + temp_path + "'", errno);
  TempFile temp(temp_path, fd);

  for (const auto& piece : pieces) {
    const std::byte* data = piece.data();
    size_t left = piece.size();
    while (left > 0) {
      const ssize_t written = ::write(temp.fd(), data, left);
      if (written < 0 && errno == EINTR) continue;
      if (written < 0) fail(path, "writing", "'" + temp_path + "'", errno);
      if (written == 0) fail(path, "writing", "'" + temp_path + "'", EIO);
      data += written;
      left -= static_cast<size_t>(written);
    }
  }
  if (::fsync(temp.fd()) != 0) fail(path, "syncing", "'" + temp_path + "'", errno);
  if (temp.close() != 0) fail(path, "closing", "'" + temp_path + "'", errno);
  if (::rename(temp_path.c_str(), path.c_str()) != 0) fail(path, "renaming", "'" + temp_path + "' to it", errno);
  temp.commit();

  // The rename is durable only once the folder's entry is on disk.
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) fail(path, "opening folder", "'" + dir + "' to sync it", errno);
  const int synced = ::fsync(dir_fd);
  const int err = errno;
  ::close(dir_fd);
  if (synced != 0) fail(path, "syncing folder", "'" + dir + "'", err);
}

}  // namespace convoy
