#include "core/layer_segments.hpp"

#include <set>

#include "core/error.hpp"

namespace convoy {

std::string layers_with_parameters(Model& model) {
  std::string names;
  std::set<std::string> seen;
  for (const NamedTensor& t : model.named_tensors())
    if (!t.buffer && seen.insert(t.layer).second) names += (names.empty() ? "" : ", ") + t.layer;
  return names;
}

std::vector<LrSegment> layer_segments(Model& model, const std::map<std::string, float>& multipliers) {
  std::vector<LrSegment> segments;
  std::set<std::string> found;
  for (const NamedTensor& t : model.named_tensors()) {
    const auto m = multipliers.find(t.layer);
    if (t.buffer || m == multipliers.end()) continue;
    const int64_t begin = t.data - model.parameters();
    segments.push_back({begin, begin + t.shape.numel(), m->second});
    found.insert(t.layer);
  }
  for (const auto& [layer, m] : multipliers) {
    bool in_spec = false;
    for (const LayerSpec& l : model.spec().layers) in_spec = in_spec || l.name == layer;
    CONVOY_CHECK(found.count(layer), ConfigError, "layer '", layer, "' ",
                 in_spec ? "has no parameters" : "is not in the model '" + model.spec().name + "'",
                 "; the layers with parameters are: ", layers_with_parameters(model));
  }
  return segments;
}

}  // namespace convoy
