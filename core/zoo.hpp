// The built-in models, by name: lenet5 and keras-cnn.
#pragma once

#include <string>
#include <vector>

#include "core/model_spec.hpp"

namespace convoy {

// The spec of a built-in model for samples of shape [C, H, W] and `classes` outputs.
// Throws ConfigError listing the known names for an unknown one.
ModelSpec builtin_model(const std::string& name, const Shape& input, int64_t classes);

std::vector<std::string> builtin_model_names();

}  // namespace convoy
