#include "core/zoo.hpp"

#include "core/error.hpp"
#include "core/zoo_files.hpp"

namespace convoy {

std::vector<std::string> builtin_model_names() {
  std::vector<std::string> names;
  for (const ZooFile& f : zoo_files()) names.push_back(f.name);
  return names;
}

std::string builtin_model_file(const std::string& name) {
  for (const ZooFile& f : zoo_files())
    if (name == f.name) return f.text;
  return "";
}

ModelSpec builtin_model(const std::string& name, const Shape& input, int64_t classes) {
  const std::string text = builtin_model_file(name);
  if (text.empty()) {
    std::string known;
    for (const std::string& n : builtin_model_names()) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("model '" + name + "': unknown model (known: " + known + ")");
  }
  return ModelSpec::from_template(nlohmann::json::parse(text), input, classes);
}

}  // namespace convoy
