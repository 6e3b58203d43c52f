#include "core/model_spec.hpp"

#include "core/error.hpp"

namespace convoy {

nlohmann::json parse_model_json(std::string_view text) {
  CONVOY_CHECK(static_cast<int64_t>(text.size()) <= kMaxModelJsonBytes, ConfigError, "model spec: ", text.size(),
               " bytes, more than the ", kMaxModelJsonBytes, " a model spec may have");
  // Note [Bounded model JSON]: the callback sees each value's depth before the value is built.
  const auto bounded = [](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    const bool opens = event == nlohmann::json::parse_event_t::object_start ||
                       event == nlohmann::json::parse_event_t::array_start;
    CONVOY_CHECK(!opens || depth < kMaxModelJsonDepth, ConfigError, "model spec: nested deeper than ",
                 kMaxModelJsonDepth, " levels (objects and lists inside each other)");
    return true;
  };
  try {
    return nlohmann::json::parse(text, bounded);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("model spec: not valid JSON: ") + e.what());
  }
}

nlohmann::json ModelSpec::to_json() const {
  nlohmann::json layers_json = nlohmann::json::array();
  for (const LayerSpec& l : layers) {
    nlohmann::json j = {{"type", l.type}, {"name", l.name}, {"options", l.options}};
    if (!l.inputs.empty()) j["inputs"] = l.inputs;
    layers_json.push_back(std::move(j));
  }
  return {{"name", name},
          {"input", {input[0], input[1], input[2]}},
          {"classes", classes},
          {"layers", std::move(layers_json)}};
}

ModelSpec ModelSpec::from_json(const nlohmann::json& j) {
  ModelSpec spec;
  try {
    spec.name = j.at("name").get<std::string>();
    const auto input = j.at("input").get<std::vector<int64_t>>();
    CONVOY_CHECK(input.size() == 3, ConfigError, "model spec field 'input': expected [C, H, W], found ",
                 input.size(), " dimensions");
    spec.input = Shape{input[0], input[1], input[2]};
    spec.classes = j.at("classes").get<int64_t>();
    for (const auto& lj : j.at("layers")) {
      LayerSpec l;
      l.type = lj.at("type").get<std::string>();
      l.name = lj.at("name").get<std::string>();
      if (lj.contains("inputs")) l.inputs = lj.at("inputs").get<std::vector<std::string>>();
      if (lj.contains("options")) l.options = lj.at("options");
      spec.layers.push_back(std::move(l));
    }
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("model spec: ") + e.what());
  }
  return spec;
}

ModelSpec ModelSpec::from_template(const nlohmann::json& j, const Shape& input, int64_t classes) {
  CONVOY_CHECK(j.is_object(), ConfigError, "model spec: expected an object, found ", j.type_name());
  nlohmann::json full = j;
  if (!full.contains("input")) full["input"] = {input[0], input[1], input[2]};
  if (!full.contains("classes")) full["classes"] = classes;
  const int64_t count = full["classes"].is_number_integer() ? full["classes"].get<int64_t>() : classes;
  if (full.contains("layers") && full["layers"].is_array()) {
    for (auto& layer : full["layers"]) {
      if (!layer.is_object() || !layer.contains("options") || !layer["options"].is_object()) continue;
      for (auto& [key, value] : layer["options"].items())
        if (value == "classes") value = count;
    }
  }
  return from_json(full);
}

}  // namespace convoy
