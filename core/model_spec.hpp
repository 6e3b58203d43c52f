// ModelSpec: a model as data (input shape, layers, options), the form JSON model files and checkpoints hold.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/shape.hpp"

namespace convoy {

struct LayerSpec {
  std::string type;                 // factory name, "conv2d"
  std::string name;                 // unique within the model, "conv1"
  std::vector<std::string> inputs;  // names of producer layers; empty = the previous layer (or the input)
  nlohmann::json options = nlohmann::json::object();  // layer options, {"out_channels": 32, "kernel": 3}
};

// Note [Bounded model JSON]
// Model specs come from files and checkpoints anyone can write. nlohmann's parser is iterative,
// but copying, comparing and destroying a parsed value recurse once per nesting level, so tens
// of thousands of levels overflow the stack; and a huge file is read whole. A real spec is a few
// levels deep (spec, layers, layer, options, an option's list) and at most a few hundred KB, so
// deeper or larger text is refused before anything is built from it.
constexpr int kMaxModelJsonDepth = 32;
constexpr int64_t kMaxModelJsonBytes = int64_t{16} << 20;

// Parses a model spec's JSON text within those limits. Throws ConfigError saying which limit was
// passed, or that the text is not JSON (with the parser's position).
nlohmann::json parse_model_json(std::string_view text);

struct ModelSpec {
  std::string name;           // "keras-cnn"
  Shape input;                // one sample: [C, H, W]
  int64_t classes = 0;        // width of the last layer's output
  std::vector<LayerSpec> layers;

  nlohmann::json to_json() const;
  static ModelSpec from_json(const nlohmann::json& j);  // throws ConfigError naming the bad field
  // A model file that may leave out "input" and "classes" (then these are used) and may write
  // an option's value as "classes" (replaced by the class count): the zoo's files do both.
  static ModelSpec from_template(const nlohmann::json& j, const Shape& input, int64_t classes);
};

}  // namespace convoy
