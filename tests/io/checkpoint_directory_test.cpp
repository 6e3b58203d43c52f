// A folder of checkpoints: numeric ordering, resuming from the newest that verifies, pruning.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.hpp"
#include "io/checkpoint.hpp"
#include "io/checkpoint_directory.hpp"
#include "tests/io/checkpoint_test_support.hpp"

namespace convoy {
namespace {

using test::TempDir;

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void corrupt(const std::string& path) {
  auto bytes = test::read_bytes(path);
  bytes[bytes.size() - 3] ^= std::byte{0x20};
  test::write_bytes(path, bytes);
}

TEST(CheckpointDirectory, PathNamesTheStep) {
  EXPECT_EQ(checkpoint_path("/runs/a", 1200), "/runs/a/step-1200.ckpt");
  EXPECT_EQ(checkpoint_path("runs", 0), "runs/step-0.ckpt");
  EXPECT_THROW(checkpoint_path("runs", -1), InternalError);
}

TEST(CheckpointDirectory, MissingOrEmptyFolderHasNoCheckpoint) {
  TempDir dir;
  EXPECT_FALSE(find_latest_checkpoint(dir.file("absent")).has_value());
  EXPECT_FALSE(find_latest_checkpoint(dir.path()).has_value());
}

TEST(CheckpointDirectory, NewestIsChosenByNumberNotByName) {
  TempDir dir;
  for (int64_t step : {9, 100, 10}) write_checkpoint(checkpoint_path(dir.path(), step), test::populated_state(step, 8));
  // Names that are not checkpoints, and an interrupted write, are ignored without warnings.
  test::write_bytes(dir.file(".step-500.ckpt.tmp-99999"), std::vector<std::byte>(10, std::byte{0}));
  test::write_bytes(dir.file("step-abc.ckpt"), std::vector<std::byte>(10, std::byte{0}));
  test::write_bytes(dir.file("notes.txt"), std::vector<std::byte>(10, std::byte{0}));

  const auto found = find_latest_checkpoint(dir.path());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->path, checkpoint_path(dir.path(), 100));
  EXPECT_EQ(found->state.step, 100);
  test::expect_same_state(test::populated_state(100, 8), found->state);
  EXPECT_TRUE(found->warnings.empty());
}

TEST(CheckpointDirectory, CorruptedNewestIsSkippedWithAWarning) {
  TempDir dir;
  for (int64_t step : {10, 20, 30}) write_checkpoint(checkpoint_path(dir.path(), step), test::populated_state(step, 8));
  corrupt(checkpoint_path(dir.path(), 30));
  // A truncated one that is newer still.
  write_checkpoint(checkpoint_path(dir.path(), 40), test::populated_state(40, 8));
  std::filesystem::resize_file(checkpoint_path(dir.path(), 40), 100);

  const auto found = find_latest_checkpoint(dir.path());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->path, checkpoint_path(dir.path(), 20));
  EXPECT_EQ(found->state.step, 20);
  ASSERT_EQ(found->warnings.size(), 2u);
  EXPECT_NE(found->warnings[0].find("step-40.ckpt"), std::string::npos) << found->warnings[0];
  EXPECT_NE(found->warnings[0].find("truncated"), std::string::npos) << found->warnings[0];
  EXPECT_NE(found->warnings[1].find("step-30.ckpt"), std::string::npos) << found->warnings[1];
  EXPECT_NE(found->warnings[1].find("checksum"), std::string::npos) << found->warnings[1];
}

TEST(CheckpointDirectory, OnlyCorruptedCheckpointsIsAnError) {
  TempDir dir;
  write_checkpoint(checkpoint_path(dir.path(), 5), test::populated_state(5, 8));
  corrupt(checkpoint_path(dir.path(), 5));
  try {
    find_latest_checkpoint(dir.path());
    ADD_FAILURE() << "expected an IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("none verifies"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("step-5.ckpt"), std::string::npos) << e.what();
  }
}

TEST(CheckpointDirectory, PruneKeepsTheNewestK) {
  TempDir dir;
  for (int64_t step : {1, 2, 3, 10, 20}) write_checkpoint(checkpoint_path(dir.path(), step), test::populated_state(step, 8));
  test::write_bytes(dir.file(".step-30.ckpt.tmp-99999"), std::vector<std::byte>(10, std::byte{0}));
  prune_checkpoints(dir.path(), 2);
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{".step-30.ckpt.tmp-99999", "step-10.ckpt", "step-20.ckpt"}));
  prune_checkpoints(dir.path(), 1);
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{".step-30.ckpt.tmp-99999", "step-20.ckpt"}));
  prune_checkpoints(dir.path(), 5);  // fewer than asked: nothing goes
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{".step-30.ckpt.tmp-99999", "step-20.ckpt"}));
  EXPECT_THROW(prune_checkpoints(dir.path(), 0), InternalError);
}

TEST(CheckpointDirectory, PruneCountsOnlyValidCheckpointsAndNeverTheNewest) {
  TempDir dir;
  for (int64_t step : {1, 2, 3, 4}) write_checkpoint(checkpoint_path(dir.path(), step), test::populated_state(step, 8));
  corrupt(checkpoint_path(dir.path(), 4));
  corrupt(checkpoint_path(dir.path(), 2));
  prune_checkpoints(dir.path(), 1);
  // step-3 is the newest valid one; the corrupted newer step-4 stays as evidence.
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"step-3.ckpt", "step-4.ckpt"}));
  const auto found = find_latest_checkpoint(dir.path());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->state.step, 3);
  EXPECT_EQ(found->warnings.size(), 1u);
}

}  // namespace
}  // namespace convoy
