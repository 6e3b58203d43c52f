// checkpoint_model: the model a checkpoint holds, built and loaded for eval, predict and export.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/model.hpp"
#include "io/training_state.hpp"

namespace convoy {

// Builds the checkpoint's model for batches of up to max_batch and copies its parameters and
// buffers in. Throws IoError naming `path` when the spec, the fingerprint or a store size
// disagree with what the checkpoint holds.
std::unique_ptr<Model> model_from_checkpoint(const TrainingState& state, const std::string& path, int64_t max_batch,
                                             int threads);

// Copies the state's parameters and buffers into `model`, checking their sizes (IoError naming path).
void load_model_state(const TrainingState& state, const std::string& path, Model& model);

}  // namespace convoy
