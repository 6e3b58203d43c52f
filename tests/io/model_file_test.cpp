// Model files: every way a file can fail to be a model is one message naming the file and what is wrong.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.hpp"
#include "io/model_file.hpp"
#include "tests/support/temp_dir.hpp"

namespace convoy {
namespace {

using testing::TempDir;

// The message of the E that read_model_file(path) throws ("" and a failure if it does not).
template <typename E>
std::string refusal(const std::string& path) {
  try {
    read_model_file(path, Shape{1, 4, 4}, 3);
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": unexpected exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << path << ": accepted";
  return "";
}

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name)) << text;
  return dir.file(name);
}

// "[" x depth then "]" x depth: valid JSON nested `depth` levels.
std::string nested_lists(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ModelFile, ReadsATemplateFillingInputAndClasses) {
  TempDir dir;
  const std::string path = write(dir, "m.json", R"({"name": "m", "layers": [{"type": "flatten", "name": "f"},
      {"type": "dense", "name": "d", "options": {"units": "classes", "extra": [[1, 2], [3]]}}]})");
  const ModelSpec spec = read_model_file(path, Shape{1, 4, 4}, 3);
  EXPECT_EQ(spec.input, (Shape{1, 4, 4}));
  EXPECT_EQ(spec.classes, 3);
  ASSERT_EQ(spec.layers.size(), 2u);
  EXPECT_EQ(spec.layers[1].options.at("units"), 3);
}

TEST(ModelFile, MissingNotJsonAndNotAModelAreNamed) {
  TempDir dir;
  EXPECT_NE(refusal<IoError>(dir.file("none.json")).find("none.json"), std::string::npos);
  const std::string broken = refusal<IoError>(write(dir, "broken.json", R"({"name": "m", "layers": [)"));
  EXPECT_NE(broken.find("model file '" + dir.file("broken.json") + "': model spec: not valid JSON"), std::string::npos)
      << broken;
  const std::string list = refusal<ConfigError>(write(dir, "list.json", "[1, 2]"));
  EXPECT_NE(list.find("model file '" + dir.file("list.json") + "': model spec: expected an object, found array"),
            std::string::npos)
      << list;
  const std::string no_layers = refusal<ConfigError>(write(dir, "no-layers.json", R"({"name": "m"})"));
  EXPECT_NE(no_layers.find("model file '" + dir.file("no-layers.json") + "'"), std::string::npos) << no_layers;
  EXPECT_NE(no_layers.find("'layers'"), std::string::npos) << no_layers;
  const std::string input = refusal<ConfigError>(write(dir, "input.json", R"({"name": "m", "input": [1, 4], "layers": []})"));
  EXPECT_NE(input.find("model spec field 'input': expected [C, H, W], found 2 dimensions"), std::string::npos) << input;
  const std::string type = refusal<ConfigError>(write(dir, "type.json", R"({"name": "m", "layers": [{"type": 3, "name": "x"}]})"));
  EXPECT_NE(type.find("model file '" + dir.file("type.json") + "'"), std::string::npos) << type;
}

// Note [Bounded model JSON]: tens of thousands of levels overflowed the stack (a crash, no
// message) when the parsed value was copied; now the parser refuses the 32nd level.
TEST(ModelFile, DeeplyNestedFileIsRefusedWithoutOverflowingTheStack) {
  TempDir dir;
  for (int depth : {kMaxModelJsonDepth + 1, 100000}) {
    const std::string path =
        write(dir, "deep.json", R"({"name": "m", "layers": [{"type": "flatten", "name": "f", "options": {"x": )" +
                                    nested_lists(depth) + "}}]}");
    const std::string message = refusal<IoError>(path);
    EXPECT_NE(message.find("model file '" + path + "': model spec: nested deeper than 32 levels"), std::string::npos)
        << depth << ": " << message;
  }
  // The limit counts every level, the file's own included: 32 levels in all are read.
  const std::string at_limit = write(dir, "ok.json", R"({"name": "m", "layers": [{"type": "flatten", "name": "f"}],
      "comment": )" + nested_lists(kMaxModelJsonDepth - 1) + "}");
  EXPECT_EQ(read_model_file(at_limit, Shape{1, 4, 4}, 3).layers.size(), 1u);
}

TEST(ModelFile, HugeFileIsRefusedBeforeItIsRead) {
  TempDir dir;
  const std::string path = dir.file("huge.json");
  std::ofstream(path) << "{";
  std::filesystem::resize_file(path, kMaxModelJsonBytes + 1);  // sparse: nothing is written
  const std::string message = refusal<IoError>(path);
  EXPECT_NE(message.find("model file '" + path + "': " + std::to_string(kMaxModelJsonBytes + 1) +
                         " bytes, more than the " + std::to_string(kMaxModelJsonBytes) + " a model file may have"),
            std::string::npos)
      << message;
}

}  // namespace
}  // namespace convoy
