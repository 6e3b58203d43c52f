#include "apps/memory_estimate.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace convoy {
namespace {

constexpr double kMiB = 1 << 20;

// The first number in a file ("max" and unreadable files give nullopt).
std::optional<int64_t> read_number(const std::string& path) {
  std::ifstream in(path);
  int64_t value = 0;
  if (in >> value) return value;
  return std::nullopt;
}

std::optional<int64_t> mem_available() {
  std::ifstream in("/proc/meminfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string key;
    int64_t kib = 0;
    if (fields >> key >> kib && key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

}  // namespace

TrainingMemory estimate_training_memory(const Model& one_sample, int optimizer_slots) {
  int64_t activations = one_sample.spec().input.numel();
  for (const LayerInfo& layer : one_sample.layers()) activations += layer.output.with_batch(1).numel();
  TrainingMemory m;
  // The gradients share a pool (Note [Gradient buffers]), planned for one sample here.
  m.per_sample_bytes = (activations + one_sample.gradient_pool_floats()) * static_cast<int64_t>(sizeof(float));
  m.fixed_bytes = (2 + optimizer_slots) * one_sample.parameter_count() * static_cast<int64_t>(sizeof(float));
  return m;
}

std::optional<int64_t> available_memory_bytes() {
  if (const char* mib = std::getenv("CONVOY_MEMORY_MIB")) {
    char* end = nullptr;
    const long long value = std::strtoll(mib, &end, 10);
    CONVOY_CHECK(end != mib && *end == '\0' && value > 0, ConfigError, "CONVOY_MEMORY_MIB='", mib,
                 "': expected a positive number of MiB");
    return static_cast<int64_t>(value) * (1 << 20);
  }
  std::optional<int64_t> available = mem_available();
  // cgroup v2, then v1: a container's limit is often far below the machine's memory.
  for (const auto& [limit, usage] : {std::pair{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
                                     std::pair{"/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                               "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
    const std::optional<int64_t> max = read_number(limit), used = read_number(usage);
    if (max && used && *max > *used && (!available || *max - *used < *available)) available = *max - *used;
  }
  return available;
}

void check_training_memory(const TrainingMemory& need, int64_t per_rank, int64_t global_batch, int64_t available) {
  const int64_t total = need.total(per_rank);
  CONVOY_CHECK(total <= available, ConfigError, "--batch ", global_batch, ": training needs at least ",
               static_cast<int64_t>(total / kMiB), " MiB on each rank (", per_rank, " samples x ",
               need.per_sample_bytes / kMiB, " MiB of activations and their gradients, plus ",
               static_cast<int64_t>(need.fixed_bytes / kMiB),
               " MiB of parameters, gradients and optimizer state), more than the ",
               static_cast<int64_t>(available / kMiB),
               " MiB available (CONVOY_MEMORY_MIB or the machine's); lower --batch or use more ranks");
}

}  // namespace convoy
