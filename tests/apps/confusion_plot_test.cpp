// convoy plot's confusion matrix: what it reads from eval's JSON, what it refuses, and the cells
// it hands gnuplot.
#include "apps/confusion_plot.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.hpp"
#include "tests/support/temp_dir.hpp"

namespace convoy {
namespace {

using testing::TempDir;

std::string write(const TempDir& dir, const std::string& text) {
  const std::string path = dir.file("plot.json");
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::string& path) {
  try {
    read_confusion_json(path);
  } catch (const IoError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfusionPlot, ReadsTheMatrixAndNamesAndLeavesMetricsFilesAlone) {
  TempDir dir;
  auto m = read_confusion_json(write(dir, R"({"classes": ["a", "b"], "matrix": [[3, 1], [0, 4]], "accuracy": 0.875})"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->classes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(m->rows, (std::vector<std::vector<int64_t>>{{3, 1}, {0, 4}}));
  m = read_confusion_json(write(dir, R"({"matrix": [[1, 0], [0, 1]]})"));  // no names: numbered
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->classes, (std::vector<std::string>{"class 0", "class 1"}));
  // Metrics files (one or many lines) are not confusion matrices.
  EXPECT_FALSE(read_confusion_json(write(dir, R"({"type": "epoch", "epoch": 1})")).has_value());
  EXPECT_FALSE(read_confusion_json(write(dir, "{\"type\": \"step\"}\n{\"type\": \"epoch\"}\n")).has_value());
}

TEST(ConfusionPlot, RefusesMalformedMatricesNamingTheFileAndTheRow) {
  TempDir dir;
  std::string path = write(dir, R"({"matrix": [[1, 2], [3]]})");
  EXPECT_NE(error_of(path).find("confusion matrix '" + path + "': row 1 is not an array of 2 counts"),
            std::string::npos)
      << error_of(path);
  path = write(dir, R"({"matrix": [[1, -2], [3, 4]]})");
  EXPECT_NE(error_of(path).find("row 0 holds -2, expected a count"), std::string::npos) << error_of(path);
  path = write(dir, R"({"matrix": [[1, 2.5], [3, 4]]})");
  EXPECT_NE(error_of(path).find("row 0 holds 2.5, expected a count"), std::string::npos) << error_of(path);
  path = write(dir, R"({"classes": ["a"], "matrix": [[1, 2], [3, 4]]})");
  EXPECT_NE(error_of(path).find("\"classes\" names 1 classes, the matrix has 2"), std::string::npos) << error_of(path);
  path = write(dir, R"({"matrix": []})");
  EXPECT_NE(error_of(path).find("not a non-empty array"), std::string::npos) << error_of(path);
}

// Each cell: predicted, true, count, and its percent of the true class's samples; a class
// without samples shows 0%; names with quotes stay one gnuplot string.
TEST(ConfusionPlot, CellsCarryCountsAndTheShareOfTheTrueClass) {
  const ConfusionCounts m{{"T-shirt \"top\"", "bag"}, {{3, 1}, {0, 0}}};
  const std::string script = confusion_gnuplot_script(m, 400, 400);
  EXPECT_NE(script.find("0 0 3 75.0000\n1 0 1 25.0000\n0 1 0 0.0000\n1 1 0 0.0000\nEOD"), std::string::npos) << script;
  EXPECT_NE(script.find(R"(("T-shirt \"top\"" 0, "bag" 1))"), std::string::npos) << script;
  EXPECT_NE(script.find("set yrange [2-0.5:-0.5]"), std::string::npos) << script;  // row 0 on top
  EXPECT_NE(script.find("size 400,400"), std::string::npos) << script;
}

}  // namespace
}  // namespace convoy
