// Weights files: a model's parameters and buffers as HDF5 datasets /<layer>/<name>, for exchange.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convoy {

struct WeightTensor {
  std::string layer;           // a group at the root: "layer1.0.conv1"
  std::string name;            // a float32 dataset in it: "weight", "running_mean"
  std::vector<int64_t> shape;  // the dataset's dimensions
  std::vector<float> values;   // row-major
};

// Note [Weights file]
// One group per layer at the root, one float32 dataset per parameter or buffer in it, in the
// layouts PyTorch's state_dict uses (the caller converts); the model spec as a JSON string
// attribute "model_spec" on the root. h5py reads it as f["conv1"]["weight"][...]. Written to a
// temporary name and renamed, so a failed export never leaves a partial file. Names must not
// contain '/'.
void write_weights_file(const std::string& path, const std::vector<WeightTensor>& tensors,
                        const std::string& model_spec_json);

// Every float dataset two levels deep; throws IoError naming the file and dataset for anything
// else (a missing file, not HDF5, a dataset that is not float, a nested group).
std::vector<WeightTensor> read_weights_file(const std::string& path);

}  // namespace convoy
