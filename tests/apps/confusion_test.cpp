// convoy eval --confusion on a model whose predictions are known by hand: a dense layer with
// identity weights predicts the brightest of three pixels, so the matrix is counted by hand.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "io/image_decode.hpp"
#include "io/weights_file.hpp"
#include "tests/apps/idx_files.hpp"
#include "tests/apps/mpirun.hpp"
#include "tests/apps/run_command.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

class Confusion : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    // Each sample is 1x3 pixels; the prediction is the first brightest pixel.
    const std::vector<std::vector<uint8_t>> pixels = {{9, 1, 1}, {9, 1, 1}, {1, 9, 1}, {1, 1, 9}, {1, 9, 1}, {1, 9, 1},
                                                      {1, 1, 9}, {9, 1, 1}, {5, 5, 1}, {1, 1, 9}, {1, 9, 9}};
    const std::vector<uint8_t> labels = {0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 1};
    std::vector<uint8_t> images;
    for (const auto& p : pixels) images.insert(images.end(), p.begin(), p.end());
    testing::write_idx(dir_->file("images"), dir_->file("labels"), 1, 3, images, labels);
    const CommandResult converted =
        run_command(std::string(CONVOY_BINARY) + " convert idx --images " + dir_->file("images") + " --labels " +
                    dir_->file("labels") + " --class-names 'left,middle,right' -o " + dir_->file("three.h5"));
    ASSERT_EQ(converted.exit_code, 0) << converted.output;
    std::ofstream(dir_->file("argmax.json")) << R"({"name": "argmax", "input": [1, 1, 3], "classes": 3, "layers": [
      {"type": "flatten", "name": "f"}, {"type": "dense", "name": "fc", "options": {"units": 3}}]})";
    write_weights_file(dir_->file("identity.h5"),
                       {{"fc", "weight", {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1}}, {"fc", "bias", {3}, {0, 0, 0}}}, "{}");
    // --epochs 0 saves the starting state, here the identity weights, as step-0.ckpt.
    const CommandResult saved =
        run_command(std::string(CONVOY_BINARY) + " train --data " + dir_->file("three.h5") + " --model " +
                    dir_->file("argmax.json") + " --epochs 0 --batch 2 --init-weights " + dir_->file("identity.h5") +
                    " --checkpoint-dir " + dir_->path());
    ASSERT_EQ(saved.exit_code, 0) << saved.output;
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string eval(const std::string& extra) {
    return std::string(CONVOY_BINARY) + " eval --checkpoint " + dir_->file("step-0.ckpt") + " --data " +
           dir_->file("three.h5") + " --threads 1 --batch 4 --confusion " + extra;
  }

  static TempDir* dir_;
};

TempDir* Confusion::dir_ = nullptr;

// Counted by hand from the samples above (rows true, columns predicted; ties go to the first).
const std::vector<std::vector<int64_t>> kHandCount = {{2, 1, 0}, {0, 3, 1}, {2, 0, 2}};

TEST_F(Confusion, JsonMatrixEqualsTheHandCount) {
  const CommandResult r = run_command(eval("--json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j.at("classes"), (std::vector<std::string>{"left", "middle", "right"}));
  EXPECT_EQ(j.at("matrix").get<std::vector<std::vector<int64_t>>>(), kHandCount);
  EXPECT_EQ(j.at("samples"), 11);
  EXPECT_DOUBLE_EQ(j.at("accuracy").get<double>(), 7.0 / 11.0);
  EXPECT_DOUBLE_EQ(j.at("per_class_accuracy")[1].get<double>(), 3.0 / 4.0);
}

TEST_F(Confusion, TextTableNamesTheClassesWithTheirCountsAndAccuracy) {
  const CommandResult r = run_command(eval(""));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("0 left              2   1   0         3    66.67%"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1 middle            0   3   1         4    75.00%"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 right             2   0   2         4    50.00%"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("accuracy=63.64% samples=11"), std::string::npos) << r.output;
}

// The JSON eval prints, drawn by convoy plot: a PNG of the requested size, replaced whole.
TEST_F(Confusion, PlotDrawsTheMatrixThatEvalPrints) {
  const std::string json = dir_->file("confusion.json"), png = dir_->file("confusion.png");
  ASSERT_EQ(run_command(eval("--json") + " > " + json).exit_code, 0);
  const CommandResult r = run_command(std::string(CONVOY_BINARY) + " plot " + json + " -o " + png + " --size 300x400");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("confusion matrix of 3 classes, 300x400"), std::string::npos) << r.output;
  const Image image = read_image_file(png);
  EXPECT_EQ(image.height, 300);
  EXPECT_EQ(image.width, 400);
}

#ifdef CONVOY_MPIEXEC
TEST_F(Confusion, TwoRanksPrintTheSameMatrixAsOne) {
  const CommandResult one = run_command(eval("--json"));
  const CommandResult two = run_command(testing::mpirun(2) + eval("--json"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  ASSERT_EQ(two.exit_code, 0) << two.output;
  EXPECT_EQ(nlohmann::json::parse(two.output), nlohmann::json::parse(one.output));
  EXPECT_EQ(nlohmann::json::parse(two.output).at("matrix").get<std::vector<std::vector<int64_t>>>(), kHandCount);
}
#endif

}  // namespace
}  // namespace convoy
