// End-to-end test of `convoy bench`: a short run of a built-in model and of the reference shapes.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <string>

#include "io/hdf5_dataset_writer.hpp"
#include "tests/apps/run_command.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;

TEST(BenchCommand, ReportsThroughputAndEveryLayer) {
  const CommandResult r = run_command(std::string(CONVOY_BINARY) +
                                      " bench --model lenet5 --threads 1 --steps 2 --repeats 1 --batch 16 "
                                      "--inference-batch 16 --layers");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(train [0-9]+ images/s \(batch 16\), inference [0-9]+ images/s)")))
      << r.output;
  // lenet5's layers after fusion, each a row with three numbers.
  for (const char* layer : {"conv2d_1", "conv2d_4", "flatten_7", "dense_8", "relu_9", "dense_12"})
    EXPECT_TRUE(std::regex_search(r.output, std::regex(std::string(layer) + R"( .* [0-9.]+ +[0-9.]+ +[0-9.]+\n)")))
        << layer << "\n" << r.output;
  EXPECT_NE(r.output.find("conv2d 6 5x5 stride 1 padding explicit 2 + relu + max_pool2d 2x2"), std::string::npos)
      << r.output;
}

// The input shape comes from the model: a built-in model's example_input, a model file's input,
// or --input; never a fixed 1x28x28.
TEST(BenchCommand, TakesTheInputShapeFromTheModelOrTheFlag) {
  const std::string bench = std::string(CONVOY_BINARY) + " bench --threads 1 --steps 1 --repeats 1 --batch 2 "
                                                          "--inference-batch 2 ";
  CommandResult r = run_command(bench + "--model resnet20");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("model resnet20 (input [3, 32, 32], 10 classes)"), std::string::npos) << r.output;
  r = run_command(bench + "--model lenet5 --input 3x20x24 --classes 7");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("model lenet5 (input [3, 20, 24], 7 classes)"), std::string::npos) << r.output;

  testing::TempDir dir;
  std::ofstream(dir.file("with_input.json")) << R"({"name": "m", "input": [2, 9, 9], "classes": 3, "layers": [
      {"type": "conv2d", "name": "c", "options": {"out_channels": 4, "kernel": 3}},
      {"type": "flatten", "name": "f"}, {"type": "dense", "name": "d", "options": {"units": 3}}]})";
  r = run_command(bench + "--model " + dir.file("with_input.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("(input [2, 9, 9], 3 classes)"), std::string::npos) << r.output;
  r = run_command(bench + "--model " + dir.file("with_input.json") + " --input 2x9x10");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("does not match"), std::string::npos) << r.output;

  std::ofstream(dir.file("no_input.json")) << R"({"name": "m", "layers": [
      {"type": "flatten", "name": "f"}, {"type": "dense", "name": "d", "options": {"units": "classes"}}]})";
  r = run_command(bench + "--model " + dir.file("no_input.json"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("names no input shape; expected --input CxHxW"), std::string::npos) << r.output;
  r = run_command(bench + "--model " + dir.file("no_input.json") + " --input 1x5x5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("(input [1, 5, 5], 10 classes)"), std::string::npos) << r.output;
}

// --loader: the pipeline alone, in memory and from the file, on a dataset it is given.
TEST(BenchCommand, LoaderReportsSamplesPerSecondInMemoryAndFromTheFile) {
  testing::TempDir dir;
  std::vector<uint8_t> images(40 * 6 * 5);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<uint8_t>(i * 7);
  std::vector<int32_t> labels(40);
  for (int i = 0; i < 40; ++i) labels[i] = i % 3;
  write_hdf5_dataset(dir.file("d.h5"), {40, 6, 5, 1}, images.data(), labels.data(), {"a", "b", "c"});
  const CommandResult r =
      run_command(std::string(CONVOY_BINARY) + " bench --loader " + dir.file("d.h5") + " --batch 8 --repeats 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("40 samples [1, 6, 5], batch 8, the median of 2 shuffled epochs"), std::string::npos)
      << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(images in memory \(0.0 MB of a .*\): [0-9]+ samples/s)")))
      << r.output;
  EXPECT_TRUE(std::regex_search(r.output, std::regex(R"(read from the files every batch: [0-9]+ samples/s)")))
      << r.output;
  const CommandResult missing = run_command(std::string(CONVOY_BINARY) + " bench --loader " + dir.file("none.h5"));
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find(dir.file("none.h5")), std::string::npos) << missing.output;
}

TEST(BenchCommand, RejectsAnUnknownModelNamingIt) {
  const CommandResult r = run_command(std::string(CONVOY_BINARY) + " bench --model resnet-9000 --steps 1");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("resnet-9000"), std::string::npos) << r.output;
}

TEST(BenchCommand, BadNumbersAreUsageErrors) {
  for (const char* args : {"--steps 0", "--repeats 0", "--batch 0", "--inference-batch -1", "--threads 0"}) {
    const CommandResult r = run_command(std::string(CONVOY_BINARY) + " bench --model lenet5 " + args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.output;
    EXPECT_NE(r.output.find(std::string(args).substr(0, std::string(args).find(' ')) + ": expected an integer in ["),
              std::string::npos)
        << args << ": " << r.output;
  }
}

}  // namespace
}  // namespace convoy
