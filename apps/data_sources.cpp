#include "apps/data_sources.hpp"

#include <glob.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "apps/activity.hpp"
#include "apps/memory_estimate.hpp"
#include "core/error.hpp"
#include "core/zoo.hpp"
#include "io/hdf5_dataset.hpp"
#include "io/loader.hpp"
#include "io/model_file.hpp"

namespace convoy {

namespace {

// Runs `open`, prefixing its errors with the option that named the files.
template <typename Open>
auto naming_option(const std::string& option, Open open) {
  try {
    return open();
  } catch (const IoError& e) {
    throw IoError(option + ": " + e.what());
  } catch (const ShapeError& e) {
    throw ShapeError(option + ": " + e.what());
  } catch (const ConfigError& e) {
    throw ConfigError(option + ": " + e.what());
  }
}

// The sorted matches of a glob pattern.
std::vector<std::string> glob_matches(const std::string& pattern, const std::string& option) {
  glob_t g{};
  const int status = glob(pattern.c_str(), GLOB_ERR, nullptr, &g);
  std::vector<std::string> paths(g.gl_pathv, g.gl_pathv + (status == 0 ? g.gl_pathc : 0));
  globfree(&g);
  CONVOY_CHECK(status == 0, IoError, option, ": '", pattern, "' matches no file",
               status == GLOB_NOMATCH ? "" : " (a folder on the way could not be read)");
  return paths;  // glob sorts them
}

}  // namespace

std::vector<std::string> dataset_paths(const std::string& spec, const std::string& option) {
  std::vector<std::string> paths;
  for (size_t start = 0; start <= spec.size();) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    start = comma + 1;
    CONVOY_CHECK(!item.empty(), ConfigError, option, " '", spec,
                 "': expected files separated by commas, found an empty name");
    if (item.find_first_of("*?[") == std::string::npos) {
      paths.push_back(item);
      continue;
    }
    const std::vector<std::string> matches = glob_matches(item, option);
    paths.insert(paths.end(), matches.begin(), matches.end());
  }
  return paths;
}

int64_t data_memory_budget() {
  constexpr int64_t kMiB = int64_t{1} << 20;
  if (const char* text = std::getenv("CONVOY_DATA_MEMORY_MIB"); text != nullptr && *text != '\0') {
    char* end = nullptr;
    errno = 0;
    const long long mib = std::strtoll(text, &end, 10);
    CONVOY_CHECK(errno == 0 && *end == '\0' && mib >= 0 && mib <= (int64_t{1} << 40) / kMiB, ConfigError,
                 "CONVOY_DATA_MEMORY_MIB='", text, "': expected a whole number of MiB >= 0");
    return mib * kMiB;
  }
  const std::optional<int64_t> available = available_memory_bytes();
  return available ? std::min(4096 * kMiB, *available / 4) : 1024 * kMiB;
}

std::string describe_residence(const DatasetParts& parts) {
  int64_t bytes = 0;
  bool resident = true;
  for (const Hdf5Dataset& part : parts.parts()) {
    bytes += part.image_bytes();
    resident = resident && part.resident();
  }
  const auto mb = [](int64_t b) {
    char text[32];
    std::snprintf(text, sizeof text, b < 10000000 ? "%.1f MB" : "%.0f MB", static_cast<double>(b) / 1e6);
    return std::string(text);
  };
  const std::string budget = mb(data_memory_budget()) + " budget, CONVOY_DATA_MEMORY_MIB";
  return resident ? "images in memory (" + mb(bytes) + " of a " + budget + ")"
                  : "images read from the files every batch (" + mb(bytes) + ", a file over the " + budget + ")";
}

DatasetParts open_dataset_parts(const std::string& spec, const std::string& option, int64_t expected_classes,
                                int64_t batch_hint) {
  const Activity reading("reading " + option + " '" + spec + "'");
  const int64_t budget = data_memory_budget();
  return naming_option(option, [&] {
    return DatasetParts::open(
        dataset_paths(spec, option),
        {.expected_classes = expected_classes, .batch_hint = batch_hint, .memory_budget_bytes = budget});
  });
}

std::unique_ptr<BatchReader> open_dataset(const std::string& spec, const std::string& option,
                                          int64_t expected_classes, int64_t batch_hint, const LoaderOptions& options) {
  DatasetParts parts = open_dataset_parts(spec, option, expected_classes, batch_hint);
  return naming_option(option, [&]() -> std::unique_ptr<BatchReader> {
    return std::make_unique<Loader>(std::move(parts), options);
  });
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
  ModelSpec spec = read_model_option(name_or_file, data.sample, data.classes);
  CONVOY_CHECK(spec.input == data.sample, ShapeError, "model file '", name_or_file, "': input ", spec.input.str(),
               " does not match the data's samples ", data.sample.str());
  CONVOY_CHECK(spec.classes >= data.classes, ShapeError, "model file '", name_or_file, "': ", spec.classes,
               " classes, the data has ", data.classes);
  return spec;
}

}  // namespace convoy
