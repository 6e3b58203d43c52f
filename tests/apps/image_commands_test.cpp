// End-to-end: a folder of photos -> convoy convert images -> convoy train -> convoy predict.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "tests/apps/run_command.hpp"
#include "tests/support/image_files.hpp"

namespace convoy {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

std::string convoy(const std::string& args) { return std::string(CONVOY_BINARY) + " " + args; }
std::string shell_quoted(const std::string& path) { return "'" + path + "'"; }

class ImageCommands : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::write_three_class_folder(dir_->file("photos"), 16);
    held_out_ = testing::write_three_class_folder(dir_->file("held out"), 3, 100);
    // A PNG cut in half and an empty JPEG, in nested folders with spaces.
    testing::write_png(dir_->file("photos/b bright/sub dir/cut short.png"), testing::class_picture(1, 30, 30, 3, 7));
    std::vector<uint8_t> bytes = testing::read_file(dir_->file("photos/b bright/sub dir/cut short.png"));
    bytes.resize(bytes.size() / 2);
    testing::write_file(dir_->file("photos/b bright/sub dir/cut short.png"), bytes);
    testing::write_file(dir_->file("photos/c stripes/empty file.jpg"), {});
    std::ofstream(dir_->file("tiny.json")) << R"({"name": "tiny", "input": [1, 16, 16], "classes": 3, "layers": [
      {"type": "conv2d", "name": "c1", "options": {"out_channels": 4, "kernel": 3, "padding": 1}},
      {"type": "relu", "name": "r1"},
      {"type": "max_pool2d", "name": "p1", "options": {"window": 2}},
      {"type": "flatten", "name": "f"},
      {"type": "dense", "name": "d", "options": {"units": 3}}]})";
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string convert(const std::string& extra) {
    return convoy("convert images " + shell_quoted(dir_->file("photos")) + " -o " + shell_quoted(dir_->file("train.h5")) +
                  " --size 16x16 --color grayscale --threads 2 " + extra);
  }

  std::smatch m_val_;
  static TempDir* dir_;
  static std::vector<std::string> held_out_;
};

TempDir* ImageCommands::dir_ = nullptr;
std::vector<std::string> ImageCommands::held_out_;

TEST_F(ImageCommands, BadFilesFailTheImportWithTheirPathsAndNothingWritten) {
  const CommandResult r = run_command(convert("--val-split 0.25 --seed 1 --val-output " + shell_quoted(dir_->file("v.h5"))));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("Found 50 files belonging to 3 classes."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 of 50 files could not be imported"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("sub dir/cut short.png': corrupt or truncated"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("empty file.jpg': expected an image, found an empty file"), std::string::npos) << r.output;
  // Nothing was written: the folder holds only what the test made (no output, no temporary).
  for (const auto& entry : fs::directory_iterator(dir_->path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(name == "photos" || name == "held out" || name == "tiny.json") << name;
  }
}

TEST_F(ImageCommands, ImportTrainAndPredictHeldOutFiles) {
  CommandResult r = run_command(convert("--skip-bad --val-split 0.25 --seed 1 --val-output " + shell_quoted(dir_->file("val.h5"))));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Found 50 files belonging to 3 classes."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("skipped PNG image '" + dir_->file("photos/b bright/sub dir/cut short.png") +
                          "': corrupt or truncated"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("skipped image '" + dir_->file("photos/c stripes/empty file.jpg")), std::string::npos)
      << r.output;
  std::smatch counts;
  ASSERT_TRUE(std::regex_search(r.output, counts, std::regex(R"(train.h5: ([0-9]+) images \[16, 16, 1\], 3 classes)")))
      << r.output;
  ASSERT_TRUE(std::regex_search(r.output, m_val_, std::regex(R"(val.h5: ([0-9]+) images)"))) << r.output;
  // 12 of the 50 listed files go to validation (a quarter, rounded down); the 2 bad ones are left out.
  EXPECT_EQ(std::stoi(counts[1]) + std::stoi(m_val_[1]), 48) << r.output;
  EXPECT_GE(std::stoi(m_val_[1]), 10);

  r = run_command(convoy("train --model " + shell_quoted(dir_->file("tiny.json")) + " --data " + shell_quoted(dir_->file("train.h5")) +
                         " --test " + shell_quoted(dir_->file("val.h5")) +
                         " --epochs 20 --batch 8 --optimizer adam --lr 0.02 --threads 2 --seed 1 --progress lines"
                         " --checkpoint-dir " + shell_quoted(dir_->file("ckpt"))));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("checkpoint: (.*step-[0-9]+\\.ckpt)"))) << r.output;
  const std::string checkpoint = m[1];

  // The held-out folder plus one file that is not an image: the others are still predicted, exit 1.
  testing::write_file(dir_->file("notes.png"), {'n', 'o', 't', 'e', 's'});
  r = run_command(convoy("predict --checkpoint " + shell_quoted(checkpoint) + " --data " + shell_quoted(dir_->file("train.h5")) +
                         " --json --top-k 2 " + shell_quoted(dir_->file("held out/a dark")) + " " +
                         shell_quoted(dir_->file("held out/b bright")) + " " + shell_quoted(dir_->file("notes.png")) +
                         " " + shell_quoted(dir_->file("held out/c stripes"))));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("notes.png': expected a PNG, JPEG, BMP or GIF file"), std::string::npos) << r.output;
  std::istringstream lines(r.output);
  std::string line;
  size_t predicted = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] != '{') continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    ASSERT_LT(predicted, held_out_.size());
    EXPECT_EQ(j["file"], held_out_[predicted]);
    const std::string expected = held_out_[predicted].find("dark") != std::string::npos     ? "a dark"
                                 : held_out_[predicted].find("bright") != std::string::npos ? "b bright"
                                                                                            : "c stripes";
    EXPECT_EQ(j["top"][0]["class"], expected) << line;
    EXPECT_EQ(j["top"].size(), 2u);
    EXPECT_GT(j["top"][0]["probability"].get<double>(), 0.5) << line;
    ++predicted;
  }
  EXPECT_EQ(predicted, held_out_.size()) << r.output;

  // The checkpoint remembers the training data's class names: no --data needed.
  r = run_command(convoy("predict --checkpoint " + shell_quoted(checkpoint) + " " + shell_quoted(held_out_.back())));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(held_out_.back() + ": c stripes ("), std::string::npos) << r.output;

  // Plain text, names from --class-names, every file readable: exit 0.
  r = run_command(convoy("predict --checkpoint " + shell_quoted(checkpoint) + " --class-names dark,bright,stripes " +
                         shell_quoted(held_out_[0])));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(held_out_[0] + ": dark ("), std::string::npos) << r.output;
  // A checkpoint whose preprocessing record names the classes needs no --data.
  TrainingState state = read_checkpoint(checkpoint);
  state.preprocessing_json = R"({"class_names": ["night", "day", "zebra"]})";
  write_checkpoint(dir_->file("named.ckpt"), state);
  r = run_command(convoy("predict --checkpoint " + shell_quoted(dir_->file("named.ckpt")) + " " +
                         shell_quoted(held_out_.back())));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(held_out_.back() + ": zebra ("), std::string::npos) << r.output;
  r = run_command(convoy("predict --checkpoint " + shell_quoted(checkpoint) + " --class-names a,b " + shell_quoted(held_out_[0])));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--class-names: 2 class names, the checkpoint's model has 3 classes"), std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace convoy
