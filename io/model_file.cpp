#include "io/model_file.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "core/error.hpp"
#include "io/regular_file.hpp"

namespace convoy {

ModelSpec read_model_file(const std::string& path, const Shape& input, int64_t classes) {
  require_regular_file(path, "model file");
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  CONVOY_CHECK(!error, IoError, "model file '", path, "': cannot read its size: ", error.message());
  // Note [Bounded model JSON]: checked before the file is read into memory.
  CONVOY_CHECK(size <= static_cast<uint64_t>(kMaxModelJsonBytes), IoError, "model file '", path, "': ", size,
               " bytes, more than the ", kMaxModelJsonBytes, " a model file may have");
  std::ifstream in(path, std::ios::binary);
  CONVOY_CHECK(in.good(), IoError, "model file '", path, "': cannot open (missing or unreadable)");
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  CONVOY_CHECK(!in.bad(), IoError, "model file '", path, "': read failed");
  nlohmann::json j;
  try {
    j = parse_model_json(text);
  } catch (const ConfigError& e) {
    throw IoError("model file '" + path + "': " + e.what());
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
