#include "apps/data_sources.hpp"

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

ModelSpec resolve_model(const std::string& name_or_file, const DatasetInfo& data) {
  if (!is_model_file(name_or_file)) return builtin_model(name_or_file, data.sample, data.classes);
  ModelSpec spec = read_model_option(name_or_file, data.sample, data.classes);
  CONVOY_CHECK(spec.input == data.sample, ShapeError, "model file '", name_or_file, "': input ", spec.input.str(),
               " does not match the data's samples ", data.sample.str());
  CONVOY_CHECK(spec.classes >= data.classes, ShapeError, "model file '", name_or_file, "': ", spec.classes,
               " classes, the data has ", data.classes);
  return spec;
}

}  // namespace convoy
