#include "apps/data_sources.hpp"

#include <cstdio>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/activity.hpp"
#include "core/error.hpp"
#include "core/zoo.hpp"
#include "io/hdf5_dataset.hpp"
#include "io/loader.hpp"
#include "io/model_file.hpp"

namespace convoy {

std::unique_ptr<BatchReader> open_dataset(const std::string& path, const std::string& option,
                                          int64_t expected_classes, int64_t batch_hint) {
  const Activity reading("reading " + option + " '" + path + "'");
  try {
    Hdf5Dataset dataset = Hdf5Dataset::open(path, {.expected_classes = expected_classes, .batch_hint = batch_hint});
    return std::make_unique<Loader>(std::move(dataset));
  } catch (const IoError& e) {
    throw IoError(option + ": " + e.what());
  } catch (const ShapeError& e) {
    throw ShapeError(option + ": " + e.what());
  } catch (const ConfigError& e) {
    throw ConfigError(option + ": " + e.what());
  }
}

namespace {

bool is_model_file(const std::string& name_or_file) {
  return name_or_file.size() > 5 && name_or_file.ends_with(".json");
}

// A file may leave input and classes to the data (ModelSpec::from_template): these fill them.
ModelSpec read_model_option(const std::string& path, const Shape& input, int64_t classes) {
  try {
    return read_model_file(path, input, classes);
  } catch (const IoError& e) {
    throw IoError(std::string("--model: ") + e.what());
  }
}

}  // namespace

int64_t model_file_classes(const std::string& name_or_file) {
  // 0 when the file leaves its classes to the data.
  return is_model_file(name_or_file) ? read_model_option(name_or_file, Shape{1, 1, 1}, 0).classes : 0;
}

std::optional<Shape> model_input_shape(const std::string& name_or_file) {
  if (is_model_file(name_or_file)) {
    // A file that leaves its input to the data gets this empty one.
    const Shape input = read_model_option(name_or_file, Shape{0, 0, 0}, 0).input;
    return input.numel() > 0 ? std::optional<Shape>(input) : std::nullopt;
  }
  const std::string text = builtin_model_file(name_or_file);
  if (text.empty()) builtin_model(name_or_file, Shape{1, 1, 1}, 1);  // throws, listing the known names
  const nlohmann::json zoo = nlohmann::json::parse(text);
  if (!zoo.contains("example_input")) return std::nullopt;
  const auto dims = zoo["example_input"].get<std::vector<int64_t>>();
  CONVOY_ASSERT(dims.size() == 3, "built-in model '", name_or_file, "': example_input of ", dims.size(), " dimensions");
  return Shape{dims[0], dims[1], dims[2]};
}

Shape parse_sample_shape(const std::string& text, const std::string& option) {
  long long c = 0, h = 0, w = 0;
  char tail = 0;
  CONVOY_CHECK(std::sscanf(text.c_str(), "%lldx%lldx%lld%c", &c, &h, &w, &tail) == 3 && c > 0 && h > 0 && w > 0,
               ConfigError, option, " '", text, "': expected CxHxW with positive sizes, such as 3x224x224");
  return Shape{c, h, w};
}

ModelSpec resolve_model(const std::string& name_or_file, const DatasetInfo& data) {
  if (!is_model_file(name_or_file)) return builtin_model(name_or_file, data.sample, data.classes);
  const ModelSpec spec = read_model_option(name_or_file, data.sample, data.classes);
  CONVOY_CHECK(spec.input == data.sample, ShapeError, "model file '", name_or_file, "': input ", spec.input.str(),
               " does not match the data's samples ", data.sample.str());
  CONVOY_CHECK(spec.classes >= data.classes, ShapeError, "model file '", name_or_file, "': ", spec.classes,
               " classes, the data has ", data.classes);
  return spec;
}

}  // namespace convoy
