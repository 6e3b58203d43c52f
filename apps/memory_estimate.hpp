// Memory a training run will need on each rank, estimated before the model's buffers are made,
// and the memory this machine has available for it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/model.hpp"

namespace convoy {

struct TrainingMemory {
  int64_t per_sample_bytes = 0;  // activations and their gradients of one sample
  int64_t fixed_bytes = 0;       // parameters, gradients and optimizer state
  int64_t total(int64_t per_rank) const { return fixed_bytes + per_rank * per_sample_bytes; }
};

// From a model built for one sample (its layers' output shapes and parameter count) and the
// optimizer's state per parameter (SGD with momentum 1, Adam 2). A lower bound: kernel scratch
// and the loader's prefetched batches come on top.
TrainingMemory estimate_training_memory(const Model& one_sample, int optimizer_slots);

// What a new allocation can get: MemAvailable from /proc/meminfo, lowered to the cgroup's limit
// minus its usage where one is set; CONVOY_MEMORY_MIB, when set, instead (a rank's share on a
// shared node). nullopt when nothing can be read.
std::optional<int64_t> available_memory_bytes();

// Throws ConfigError naming --batch when `need` bytes exceed `available`.
void check_training_memory(const TrainingMemory& need, int64_t per_rank, int64_t global_batch, int64_t available);

}  // namespace convoy
