// Opening what a command trains or evaluates on: datasets as prefetching readers, models by name or file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <vector>

#include "core/batch_reader.hpp"
#include "core/model_spec.hpp"
#include "io/dataset_parts.hpp"
#include "io/loader.hpp"

namespace convoy {

// The files a dataset option names: paths separated by commas, each one a path or a glob
// ('parts/*.h5', its matches sorted). IoError naming `option` when a glob matches no file.
std::vector<std::string> dataset_paths(const std::string& spec, const std::string& option);

// The files of `spec` opened as one dataset (Note [Dataset parts]). `option` ("--data")
// prefixes error messages; expected_classes > 0 requires labels in [0, expected_classes).
DatasetParts open_dataset_parts(const std::string& spec, const std::string& option, int64_t expected_classes,
                                int64_t batch_hint);

// The bytes of images a dataset may hold in memory (Note [Resident images] in
// io/hdf5_dataset.hpp): CONVOY_DATA_MEMORY_MIB when set (0: read every batch from the files),
// else a quarter of the memory available, at most 4 GiB (1 GiB when nothing says).
int64_t data_memory_budget();

// "images in memory (47 MB of a 4096 MB budget)" or "images read from the files every batch
// (...)", for the start-up report.
std::string describe_residence(const DatasetParts& parts);

// The same behind a prefetching loader that augments and normalises as `options` say.
std::unique_ptr<BatchReader> open_dataset(const std::string& spec, const std::string& option,
                                          int64_t expected_classes, int64_t batch_hint,
                                          const LoaderOptions& options = {});

// The classes a JSON model file (a name ending in .json) outputs; 0 for a built-in model name
// or a file that leaves its classes to the data.
int64_t model_file_classes(const std::string& name_or_file);

// The sample shape a model names: a model file's "input", or a built-in model's "example_input"
// (the shape its architecture was designed for); nullopt when it names none. ConfigError
// listing the known names for an unknown built-in name.
std::optional<Shape> model_input_shape(const std::string& name_or_file);

// "CxHxW" (such as 3x224x224) as a sample shape; ConfigError naming `option` otherwise.
Shape parse_sample_shape(const std::string& text, const std::string& option);

// A built-in model name, or a path to a JSON model file (ending in .json), for this data.
ModelSpec resolve_model(const std::string& name_or_file, const DatasetInfo& data);

}  // namespace convoy
