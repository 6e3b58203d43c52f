// Model files: a ModelSpec as JSON on disk ({"name", "input": [C,H,W], "classes", "layers"}).
#pragma once

#include <string>

#include "core/model_spec.hpp"

namespace convoy {

// A file without "input" or "classes" takes `input` and `classes`, and an option written
// "classes" becomes the class count (ModelSpec::from_template), as the zoo's files do.
// Throws IoError naming the file if it is missing or not JSON, ConfigError naming the field
// if the JSON is not a model.
ModelSpec read_model_file(const std::string& path, const Shape& input, int64_t classes);

void write_model_file(const std::string& path, const ModelSpec& spec);

}  // namespace convoy
