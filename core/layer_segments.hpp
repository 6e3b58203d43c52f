// layer_segments: per-layer learning-rate multipliers as segments of a model's flat parameter store.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/optimizer.hpp"

namespace convoy {

// One segment per parameter tensor of each named layer (Note [Layer learning rates]). A name
// that is not a layer of the model, or a layer without parameters, is a ConfigError naming it
// and listing the layers that have parameters.
std::vector<LrSegment> layer_segments(Model& model, const std::map<std::string, float>& multipliers);

// The layers of `model` that have parameters, in spec order, as "a, b, c" (for messages).
std::string layers_with_parameters(Model& model);

}  // namespace convoy
