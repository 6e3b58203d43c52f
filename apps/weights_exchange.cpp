#include "apps/weights_exchange.hpp"

#include <map>
#include <set>

#include "core/error.hpp"
#include "core/layer_segments.hpp"

namespace convoy {
namespace {

// Dense weights are [in, units] in Convoy and [units, in] in PyTorch.
bool transposed(const std::map<std::string, std::string>& type_of, const NamedTensor& t) {
  return type_of.at(t.layer) == "dense" && t.name == "weight";
}

std::map<std::string, std::string> layer_types(const Model& model) {
  std::map<std::string, std::string> types;
  for (const LayerInfo& l : model.layers()) types[l.name] = l.type;
  return types;
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

}  // namespace

std::vector<WeightTensor> export_weights(Model& model) {
  const auto type_of = layer_types(model);
  std::vector<WeightTensor> out;
  for (const NamedTensor& t : model.named_tensors()) {
    WeightTensor w{t.layer, t.name, {}, std::vector<float>(t.data, t.data + t.shape.numel())};
    for (int d = 0; d < t.shape.rank(); ++d) w.shape.push_back(t.shape[d]);
    if (transposed(type_of, t)) {
      const int64_t in = t.shape[0], units = t.shape[1];
      w.shape = {units, in};
      for (int64_t i = 0; i < in; ++i)
        for (int64_t u = 0; u < units; ++u) w.values[u * in + i] = t.data[i * units + u];
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::vector<std::string> import_weights(Model& model, const std::vector<WeightTensor>& tensors,
                                        const std::string& path, const std::set<std::string>& reinit) {
  const auto type_of = layer_types(model);
  std::set<std::string> trained;
  for (const NamedTensor& t : model.named_tensors())
    if (!t.buffer) trained.insert(t.layer);
  for (const std::string& layer : reinit)
    CONVOY_CHECK(trained.count(layer), ConfigError, "--reinit: layer '", layer,
                 "' is not a layer of the model with parameters; those are: ", layers_with_parameters(model));
  std::map<std::string, const WeightTensor*> by_name;
  for (const WeightTensor& w : tensors) by_name[w.layer + "/" + w.name] = &w;
  std::set<std::string> used;
  for (const NamedTensor& t : model.named_tensors()) {
    if (reinit.count(t.layer)) continue;
    const std::string key = t.layer + "/" + t.name;
    const auto found = by_name.find(key);
    CONVOY_CHECK(found != by_name.end(), IoError, "weights file '", path, "': no tensor /", key, " for layer '",
                 t.layer, "'");
    const WeightTensor& w = *found->second;
    std::vector<int64_t> expected;
    expected.reserve(t.shape.rank());
    for (int d = 0; d < t.shape.rank(); ++d) expected.push_back(t.shape[d]);
    const bool swap = transposed(type_of, t);
    if (swap) expected = {t.shape[1], t.shape[0]};
    CONVOY_CHECK(w.shape == expected, IoError, "weights file '", path, "': /", key, " is ", shape_text(w.shape),
                 ", the model's layer '", t.layer, "' needs ", shape_text(expected));
    if (swap) {
      const int64_t in = t.shape[0], units = t.shape[1];
      for (int64_t i = 0; i < in; ++i)
        for (int64_t u = 0; u < units; ++u) t.data[i * units + u] = w.values[u * in + i];
    } else {
      std::copy(w.values.begin(), w.values.end(), t.data);
    }
    used.insert(key);
  }
  std::vector<std::string> unused;
  for (const auto& [key, w] : by_name)
    if (!used.count(key) && !reinit.count(w->layer)) unused.push_back(key);
  return unused;
}

}  // namespace convoy
