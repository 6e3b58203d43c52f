// Atomic checkpoint writes: a failed write leaves the previous checkpoint and no temporary file.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/stat.h>

#include <csignal>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/checkpoint.hpp"
#include "tests/io/checkpoint_test_support.hpp"

namespace convoy {
namespace {

using test::TempDir;

std::vector<std::string> temp_files_in(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) found.push_back(entry.path().string());
  return found;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const IoError& e) {
    return e.what();
  }
  return "(no IoError)";
}

TEST(CheckpointAtomic, TempPathIsHiddenBesideTheTarget) {
  EXPECT_EQ(atomic_temp_path("/a/b/step-5.ckpt"), "/a/b/.step-5.ckpt.tmp-" + std::to_string(::getpid()));
}

TEST(CheckpointAtomic, FailedRenameLeavesPreviousCheckpointAndNoTempFile) {
  TempDir dir;
  const std::string previous = dir.file("step-1.ckpt");
  write_checkpoint(previous, test::populated_state(1));
  const auto previous_bytes = test::read_bytes(previous);

  // The target name is taken by a non-empty directory, so the final rename fails (even as root).
  const std::string target = dir.file("step-2.ckpt");
  std::filesystem::create_directory(target);
  test::write_bytes(target + "/keep", {std::byte{1}});

  const std::string message = error_of([&] { write_checkpoint(target, test::populated_state(2)); });
  EXPECT_NE(message.find(target), std::string::npos) << message;
  EXPECT_NE(message.find("renaming"), std::string::npos) << message;
  EXPECT_NE(message.find("directory"), std::string::npos) << message;  // errno text: "Is a directory"
  EXPECT_EQ(test::read_bytes(previous), previous_bytes);
  EXPECT_TRUE(temp_files_in(dir.path()).empty());
  EXPECT_TRUE(std::filesystem::is_directory(target));
}

TEST(CheckpointAtomic, MissingFolderIsReportedWithErrnoText) {
  TempDir dir;
  const std::string target = dir.file("no-such-folder/step-1.ckpt");
  const std::string message = error_of([&] { write_checkpoint(target, test::populated_state()); });
  EXPECT_NE(message.find(target), std::string::npos) << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir.file("no-such-folder")));
}

// A write that fails half way (here: the file-size limit, as a full disk would) removes the
// temporary file and leaves the checkpoint it was replacing byte-identical.
TEST(CheckpointAtomic, FailedWriteMidFileLeavesPreviousCheckpointIntact) {
  TempDir dir;
  const std::string path = dir.file("step-1.ckpt");
  write_checkpoint(path, test::populated_state(1, 10));
  const auto previous_bytes = test::read_bytes(path);

  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &saved), 0);
  rlimit limited = saved;
  limited.rlim_cur = 4096;
  auto* old_handler = std::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of a signal
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limited), 0);
  const std::string message = error_of([&] { write_checkpoint(path, test::populated_state(2, 100000)); });
  ::setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, old_handler);

  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("writing"), std::string::npos) << message;
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  EXPECT_EQ(test::read_bytes(path), previous_bytes);
  EXPECT_TRUE(temp_files_in(dir.path()).empty());
  test::expect_same_state(test::populated_state(1, 10), read_checkpoint(path));
}

mode_t mode_after_write_with_umask(const std::string& path, mode_t mask) {
  const mode_t saved = ::umask(mask);
  write_checkpoint(path, test::populated_state());
  ::umask(saved);
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(CheckpointAtomic, FileModeFollowsTheUmask) {
  TempDir dir;
  EXPECT_EQ(mode_after_write_with_umask(dir.file("a.ckpt"), 022), 0644);
  EXPECT_EQ(mode_after_write_with_umask(dir.file("b.ckpt"), 027), 0640);
  EXPECT_EQ(mode_after_write_with_umask(dir.file("c.ckpt"), 0), 0666);
}

TEST(CheckpointAtomic, StaleTempFileOfThisProcessIsReplaced) {
  TempDir dir;
  const std::string path = dir.file("step-3.ckpt");
  test::write_bytes(atomic_temp_path(path), std::vector<std::byte>(5000, std::byte{0x55}));
  write_checkpoint(path, test::populated_state(3));
  test::expect_same_state(test::populated_state(3), read_checkpoint(path));
  EXPECT_TRUE(temp_files_in(dir.path()).empty());
}

}  // namespace
}  // namespace convoy
