// weights_exchange: a model's parameters and buffers to and from weights files, in PyTorch's layouts.
#pragma once

#include <string>
#include <vector>

#include "core/model.hpp"
#include "io/weights_file.hpp"

namespace convoy {

// Every parameter and buffer as /<layer>/<name> (Note [Weights file]) in the layout PyTorch's
// state_dict has: convolutions [out, in, kh, kw] as stored; dense weights transposed from
// Convoy's [in, units] to [units, in]; batch norm's weight, bias, running_mean, running_var.
std::vector<WeightTensor> export_weights(Model& model);

// Copies every parameter and buffer of the model from `tensors` (as export_weights writes
// them). A tensor the model has and the file lacks, or of another shape, is an IoError naming
// `path`, the layer, the tensor and both shapes. Returns the file's tensors the model does not
// have ("layer/name"), for the caller to report.
std::vector<std::string> import_weights(Model& model, const std::vector<WeightTensor>& tensors,
                                        const std::string& path);

}  // namespace convoy
