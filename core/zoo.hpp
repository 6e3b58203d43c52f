// The built-in models, by name: the model files of core/zoo/, embedded in the library.
#pragma once

#include <string>
#include <vector>

#include "core/model_spec.hpp"

namespace convoy {

// The spec of a built-in model for samples of shape [C, H, W] and `classes` outputs.
// Throws ConfigError listing the known names for an unknown one.
ModelSpec builtin_model(const std::string& name, const Shape& input, int64_t classes);

// The names, in the order of core/CMakeLists.txt's CONVOY_ZOO_MODELS.
std::vector<std::string> builtin_model_names();

// The model file behind a name, as shipped in core/zoo/ (empty for an unknown name).
std::string builtin_model_file(const std::string& name);

}  // namespace convoy
