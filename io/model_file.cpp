#include "io/model_file.hpp"

#include <fstream>

#include "core/error.hpp"
#include "io/regular_file.hpp"

namespace convoy {

ModelSpec read_model_file(const std::string& path, const Shape& input, int64_t classes) {
  require_regular_file(path, "model file");
  std::ifstream in(path);
  CONVOY_CHECK(in.good(), IoError, "model file '", path, "': cannot open (missing or unreadable)");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw IoError("model file '" + path + "': not valid JSON: " + e.what());
  }
  try {
    return ModelSpec::from_template(j, input, classes);
  } catch (const ConfigError& e) {
    throw ConfigError("model file '" + path + "': " + e.what());
  }
}

void write_model_file(const std::string& path, const ModelSpec& spec) {
  std::ofstream out(path);
  CONVOY_CHECK(out.good(), IoError, "model file '", path, "': cannot open for writing");
  out << spec.to_json().dump(2) << '\n';
  CONVOY_CHECK(out.good(), IoError, "model file '", path, "': write failed");
}

}  // namespace convoy
