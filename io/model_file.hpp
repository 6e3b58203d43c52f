// Model files: a ModelSpec as JSON on disk ({"name", "input": [C,H,W], "classes", "layers"}).
#pragma once

#include <string>

#include "core/model_spec.hpp"

namespace convoy {

// Throws IoError naming the file if it is missing or not JSON, ConfigError naming the field
// if the JSON is not a model.
ModelSpec read_model_file(const std::string& path);

void write_model_file(const std::string& path, const ModelSpec& spec);

}  // namespace convoy
