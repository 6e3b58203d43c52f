// Weights files (Note [Weights file]): round trip, layout an HDF5 reader sees, and bad files.
#include "io/weights_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "io/hdf5_dataset_writer.hpp"
#include "tests/support/temp_dir.hpp"

namespace convoy {
namespace {

using testing::TempDir;

TEST(WeightsFile, RoundTripsEveryTensorAndLeavesNoTemporary) {
  TempDir dir;
  const std::vector<WeightTensor> tensors = {
      {"conv1", "weight", {2, 1, 3, 3}, std::vector<float>(18, 0.25f)},
      {"conv1", "bias", {2}, {1.0f, -2.0f}},
      {"layer1.0.bn1", "running_var", {3}, {0.5f, 1.5f, 2.5f}},
  };
  write_weights_file(dir.file("w.h5"), tensors, R"({"name": "m"})");
  const std::vector<WeightTensor> back = read_weights_file(dir.file("w.h5"));
  ASSERT_EQ(back.size(), 3u);
  for (const WeightTensor& t : tensors) {
    bool found = false;
    for (const WeightTensor& b : back) {
      if (b.layer != t.layer || b.name != t.name) continue;
      found = true;
      EXPECT_EQ(b.shape, t.shape) << t.layer << "/" << t.name;
      EXPECT_EQ(b.values, t.values) << t.layer << "/" << t.name;
    }
    EXPECT_TRUE(found) << t.layer << "/" << t.name;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename(), "w.h5") << "left behind: " << entry.path();
}

TEST(WeightsFile, BadFilesAndNamesAreRefusedByName) {
  TempDir dir;
  EXPECT_THROW(read_weights_file(dir.file("absent.h5")), IoError);
  std::ofstream(dir.file("text.h5")) << "not hdf5";
  try {
    read_weights_file(dir.file("text.h5"));
    ADD_FAILURE() << "a text file was read as weights";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("text.h5': not an HDF5 file"), std::string::npos) << e.what();
  }
  // A dataset file has datasets at the root, not groups of tensors.
  const uint8_t images[4] = {1, 2, 3, 4};
  const int32_t labels[1] = {0};
  write_hdf5_dataset(dir.file("data.h5"), {1, 2, 2, 1}, images, labels, {});
  try {
    read_weights_file(dir.file("data.h5"));
    ADD_FAILURE() << "a dataset file was read as weights";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("expected a group per layer"), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_weights_file(dir.file("bad.h5"), {{"a/b", "weight", {1}, {1.0f}}}, "{}"), ConfigError);
  EXPECT_FALSE(std::filesystem::exists(dir.file("bad.h5")));
}

}  // namespace
}  // namespace convoy
