// LrSchedule: the learning rate of every step: constant, step decay, multi-step, cosine or
// reduce-on-plateau, optionally under a linear warmup.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/metric_monitor.hpp"

namespace convoy {

enum class LrPolicy {
  step,       // base_lr * gamma ^ floor(epoch / step_epochs); step_epochs = 0: constant
  multistep,  // base_lr * gamma ^ (milestones <= epoch), PyTorch's MultiStepLR
  cosine,     // min_lr + (base_lr - min_lr) (1 + cos(pi epoch / cosine_epochs)) / 2, CosineAnnealingLR
  plateau,    // base_lr * gamma ^ (reductions so far): Note [Monitored metric]
};

// Note [Learning-rate warmup]
// A warmup multiplies whatever the policy gives by (s + 1) / W during the first W optimizer
// steps of the run (s = 0, 1, ...), W = warmup_steps, or warmup_epochs times the steps of an
// epoch: Goyal et al.'s gradual warmup for large global batches, combinable with every policy.
// The rate is a pure function of (epoch, step) except for the plateau's reductions, which are
// state and checkpointed (state_json), so a resumed run takes the same rates to the bit.
struct LrSchedule {
  float base_lr = 1e-3f;
  LrPolicy policy = LrPolicy::step;
  int64_t step_epochs = 0;
  float gamma = 0.1f;                // step, multistep and plateau factor
  std::vector<int64_t> milestones{}; // multistep: increasing epochs (0-based) at which gamma applies
  int64_t cosine_epochs = 0;         // cosine: epochs of one half period (the run's)
  float min_lr = 0.0f;               // cosine: the rate it anneals to
  int64_t warmup_steps = 0, warmup_epochs = 0;  // at most one of them non-zero
  MetricMonitor plateau{};           // plateau: metric, patience, min_delta and state

  float plateau_scale = 1.0f;        // state: gamma ^ (reductions so far)

  // The rate of the optimizer step taken at (epoch, global_step), 0-based.
  float at(int64_t epoch, int64_t global_step = 0, int64_t steps_per_epoch = 1) const;
  // After an epoch's validation: reduce-on-plateau's decision; true if the rate was reduced.
  bool end_epoch(int64_t epoch, double metric_value);

  void validate() const;  // ConfigError naming the first bad setting
  // The settings. Keys newer than step decay appear only when not at their defaults, so the
  // settings of a run that uses none of them read as they always did.
  nlohmann::json to_json() const;
  static LrSchedule from_json(const nlohmann::json& j);  // absent newer keys: their defaults
  nlohmann::json state_json() const;
  void restore_state(const nlohmann::json& state);
};

const char* lr_policy_name(LrPolicy policy);
LrPolicy parse_lr_policy(const std::string& name);  // ConfigError for an unknown name

}  // namespace convoy
