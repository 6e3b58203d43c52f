// make_layer: builds a layer from its spec by type name (the one explicit factory).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/layer.hpp"
#include "core/model_spec.hpp"

namespace convoy {

// Throws ConfigError naming the layer for an unknown type, an unknown option or a bad value.
std::unique_ptr<Layer> make_layer(const LayerSpec& spec);

// The type names make_layer knows, for help texts and error messages.
std::vector<std::string> layer_types();

}  // namespace convoy
