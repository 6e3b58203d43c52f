// Logits files: a model's outputs over a dataset, for comparing with another framework.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convoy {

// Writes /logits float32 [samples, classes] (row i is sample i of the dataset) and /labels
// int32 [samples] to `path`, through a temporary name and a rename, so a failed write never
// leaves a partial file. h5py reads them as f["logits"][...].
void write_logits_file(const std::string& path, const std::vector<float>& logits, const std::vector<int32_t>& labels,
                       int64_t classes);

struct LogitsFile {
  int64_t samples = 0, classes = 0;
  std::vector<float> logits;    // [samples, classes]
  std::vector<int32_t> labels;  // [samples]
};

// Reads what write_logits_file wrote; IoError naming the file for anything else.
LogitsFile read_logits_file(const std::string& path);

}  // namespace convoy
