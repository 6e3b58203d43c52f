// End-to-end test of `convoy summary`: a zoo model's table, totals and branching column.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "tests/apps/run_command.hpp"
#include "tests/support/temp_dir.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;

TEST(SummaryCommand, PrintsLayersTotalsAndWhatBranchesRead) {
  const CommandResult r =
      run_command(std::string(CONVOY_BINARY) + " summary --model resnet20 --input 3x32x32 --classes 10");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("269722 parameters, 1376 non-trainable values"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0.081 GFLOPs forward"), std::string::npos) << r.output;
  // The first residual add (and its ReLU) is fused into the block's second batch norm, which
  // then reads its convolution and the stem (its ReLU fused into its batch norm).
  EXPECT_NE(r.output.find("layer1.0.conv2, bn1\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("pad_shortcut 32 stride 2"), std::string::npos) << r.output;
}

TEST(SummaryCommand, ReadsModelFilesAndRejectsBadInput) {
  testing::TempDir dir;
  std::ofstream(dir.file("m.json")) << R"({"name": "tiny", "layers": [{"type": "flatten", "name": "f"},
      {"type": "dense", "name": "fc", "options": {"units": "classes"}}]})";
  const CommandResult r = run_command(std::string(CONVOY_BINARY) + " summary --model " + dir.file("m.json") +
                                      " --input 2x3x4 --classes 5");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("125 parameters"), std::string::npos) << r.output;  // 24 x 5 + 5
  const CommandResult bad = run_command(std::string(CONVOY_BINARY) + " summary --model resnet20 --input 3x32");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("--input '3x32': expected CxHxW"), std::string::npos) << bad.output;
}

// A model file nested 100000 levels deep crashed convoy (stack overflow, no message): now one
// line and exit code 1, from train as from summary.
TEST(SummaryCommand, DeeplyNestedModelFileIsOneLineNotACrash) {
  testing::TempDir dir;
  std::ofstream(dir.file("deep.json")) << R"({"name": "deep", "layers": [{"type": "flatten", "name": "f", "options": )"
                                       << std::string(100000, '[') << std::string(100000, ']') << "}]}";
  for (const std::string command : {" summary --input 1x4x4 --classes 3 --model ", " train --data none.h5 --model "}) {
    const CommandResult r = run_command(std::string(CONVOY_BINARY) + command + dir.file("deep.json"));
    EXPECT_EQ(r.exit_code, 1) << command << r.output;
    EXPECT_NE(r.output.find("model file '" + dir.file("deep.json") + "': model spec: nested deeper than 32 levels"),
              std::string::npos)
        << command << r.output;
  }
}

}  // namespace
}  // namespace convoy
