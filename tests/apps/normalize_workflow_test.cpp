// End-to-end: photos -> convert images -> train --normalize --augment -> eval and predict prepare
// samples exactly as training did, with no flags (Note [Preprocessing record]).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "io/hdf5_dataset.hpp"
#include "tests/apps/run_command.hpp"
#include "tests/support/image_files.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

std::string convoy(const std::string& args) { return std::string(CONVOY_BINARY) + " " + args; }
std::string quoted(const std::string& path) { return "'" + path + "'"; }

double printed_loss(const std::string& output) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex(R"(test: loss=([0-9.]+))"))) return NAN;
  return std::stod(m[1]);
}

TEST(NormalizeWorkflow, EvalAndPredictRepeatTheTrainingPreprocessing) {
  TempDir dir;
  testing::write_three_class_folder(dir.file("photos"), 12);
  const std::vector<std::string> probe = testing::write_three_class_folder(dir.file("probe"), 2, 50);
  // Odd sizes, cropped to the square and shrunk with the area filter: predict must do the same.
  const std::string import = " --size 12x12 --color rgb --crop-to-aspect --resize-filter area --threads 2";
  CommandResult r = run_command(convoy("convert images " + quoted(dir.file("photos")) + " -o " + dir.file("train.h5") +
                                       import + " --val-split 0.25 --seed 2 --val-output " + dir.file("val.h5")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(convoy("convert images " + quoted(dir.file("probe")) + " -o " + dir.file("probe.h5") + import));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ofstream(dir.file("tiny.json")) << R"({"name": "tiny", "input": [3, 12, 12], "classes": 3, "layers": [
      {"type": "conv2d", "name": "c1", "options": {"out_channels": 4, "kernel": 3, "padding": 1}},
      {"type": "relu", "name": "r1"},
      {"type": "max_pool2d", "name": "p1", "options": {"window": 2}},
      {"type": "flatten", "name": "f"},
      {"type": "dense", "name": "d", "options": {"units": 3}}]})";
  r = run_command(convoy("train --model " + dir.file("tiny.json") + " --data " + dir.file("train.h5") + " --test " +
                         dir.file("val.h5") + " --normalize --augment flip,crop:2 --epochs 6 --batch 9 --lr 0.01"
                         " --threads 2 --seed 3 --progress lines --metrics " + dir.file("metrics.jsonl") +
                         " --checkpoint-dir " + dir.file("ckpt")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double train_test_loss = printed_loss(r.output);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("checkpoint: (.*step-[0-9]+\\.ckpt)"))) << r.output;
  const std::string checkpoint = m[1];

  // The record: the training file's statistics and import settings, and the augmentation.
  const nlohmann::json record = nlohmann::json::parse(read_checkpoint(checkpoint).preprocessing_json);
  const ImageAttributes attributes = Hdf5Dataset::open(dir.file("train.h5")).image_attributes();
  EXPECT_EQ(record["normalization"]["mean"].get<std::vector<float>>(), attributes.mean) << record;
  EXPECT_EQ(record["normalization"]["std"].get<std::vector<float>>(), attributes.std) << record;
  EXPECT_EQ(record["resize_filter"], "area") << record;
  EXPECT_EQ(record["aspect"], "crop") << record;
  EXPECT_EQ(record["color"], "rgb") << record;
  EXPECT_EQ(record["augmentation"], "flip,crop:2") << record;
  EXPECT_EQ(record["input"], nlohmann::json({3, 12, 12})) << record;

  // The test set was normalised with the training set's statistics, as eval (no flags) does.
  r = run_command(convoy("eval --checkpoint " + checkpoint + " --data " + dir.file("val.h5")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NEAR(printed_loss(r.output), train_test_loss, 2e-4) << r.output;

  // predict on the probe files gives the probabilities eval's forward gives on their import.
  r = run_command(convoy("eval --checkpoint " + checkpoint + " --data " + dir.file("probe.h5")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double probe_loss = printed_loss(r.output);
  // The class folders (the probe folder's root also holds a loose picture the import leaves out).
  r = run_command(convoy("predict --checkpoint " + checkpoint + " --json --top-k 3 " +
                         quoted(dir.file("probe/a dark")) + " " + quoted(dir.file("probe/b bright")) + " " +
                         quoted(dir.file("probe/c stripes"))));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::istringstream lines(r.output);
  double loss_sum = 0;
  int files = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] != '{') continue;
    const nlohmann::json j = nlohmann::json::parse(line);
    const std::string file = j["file"];
    const std::string label = file.find("a dark") != std::string::npos     ? "a dark"
                              : file.find("b bright") != std::string::npos ? "b bright"
                                                                           : "c stripes";
    for (const auto& top : j["top"])
      if (top["class"] == label) loss_sum -= std::log(top["probability"].get<double>());
    ++files;
  }
  ASSERT_EQ(files, static_cast<int>(probe.size())) << r.output;
  EXPECT_NEAR(loss_sum / files, probe_loss, 2e-4) << r.output;

  // The run's curves.
  r = run_command(convoy("plot " + dir.file("metrics.jsonl") + " -o " + dir.file("curves.png")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("6 epochs"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace convoy
