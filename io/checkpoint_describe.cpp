// describe_checkpoint (declared in io/checkpoint.hpp): the text `convoy inspect` prints.
#include <xxhash.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "core/hex.hpp"
#include "io/checkpoint.hpp"

namespace convoy {
namespace {

uint64_t hash_floats(const std::vector<float>& values) { return XXH64(values.data(), values.size() * sizeof(float), 0); }

// The spec's "name", or a placeholder: inspect should describe what it can, not fail on it.
std::string model_name(const std::string& spec_json) {
  const auto spec = nlohmann::json::parse(spec_json, nullptr, /*allow_exceptions=*/false);
  if (spec.is_object() && spec.contains("name") && spec["name"].is_string()) return spec["name"].get<std::string>();
  return spec.is_discarded() ? "(model spec is not valid JSON)" : "(unnamed)";
}

}  // namespace

std::string describe_checkpoint(const TrainingState& state, const std::string& path) {
  const CheckpointHeader header = read_checkpoint_header(path);
  std::ostringstream out;
  out << "file: " << path << "\n";
  out << "format version: " << header.format_version << "\n";
  out << "model: " << model_name(state.model_spec_json) << "\n";
  out << "model fingerprint: " << hex(state.model_fingerprint) << "\n";
  out << "parameters: " << state.parameters.size() << "\n";
  out << "parameters xxh64: " << hex(hash_floats(state.parameters)) << "\n";
  out << "buffers: " << state.buffers.size() << "\n";
  out << "buffers xxh64: " << hex(hash_floats(state.buffers)) << "\n";
  out << "step: " << state.step << "\n";
  out << "epoch: " << state.epoch << "\n";
  out << "batch_in_epoch: " << state.batch_in_epoch << "\n";
  out << "world size: " << state.world_size << "\n";
  out << "global batch: " << state.global_batch << "\n";
  out << "dataset size: " << state.dataset_size << "\n";
  out << "dataset fingerprint: " << hex(state.dataset_fingerprint) << "\n";
  out << "seed: " << state.seed << "\n";
  out << "optimizer: " << state.optimizer_json << "\n";
  out << "optimizer step: " << state.optimizer_step << "\n";
  XXH64_state_t* all = XXH64_createState();
  XXH64_reset(all, 0);
  for (const auto& [name, values] : state.optimizer_buffers) {
    out << "optimizer buffer " << name << ": " << values.size() << " floats, xxh64 " << hex(hash_floats(values)) << "\n";
    XXH64_update(all, values.data(), values.size() * sizeof(float));
  }
  out << "optimizer buffers xxh64: " << hex(XXH64_digest(all)) << "\n";
  XXH64_freeState(all);
  out << "schedule: " << state.schedule_json << "\n";
  if (!state.preprocessing_json.empty()) out << "preprocessing: " << state.preprocessing_json << "\n";
  out << "metrics lines: " << state.metrics_history.size() << "\n";
  return out.str();
}

}  // namespace convoy
