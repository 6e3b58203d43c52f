// weights_exchange: a model's parameters and buffers to and from weights files, in PyTorch's layouts.
#pragma once

#include <set>
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
// them), except those of the `reinit` layers, which keep what they have (fine-tuning: a new
// classifier, possibly of another shape). A tensor the model has and the file lacks, or of
// another shape, is an IoError naming `path`, the layer, the tensor and both shapes; a reinit
// name that is not a layer with parameters is a ConfigError naming it. Returns the file's
// tensors the model does not have and that are not the reinit layers' ("layer/name"), for the
// caller to report.
std::vector<std::string> import_weights(Model& model, const std::vector<WeightTensor>& tensors,
                                        const std::string& path, const std::set<std::string>& reinit = {});

}  // namespace convoy
