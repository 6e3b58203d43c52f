// MetricMonitor: whether a metric measured once an epoch is still improving (early stopping,
// reduce-on-plateau, the best checkpoint).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace convoy {

// Note [Monitored metric]
// Early stopping, reduce-on-plateau and best.ckpt all ask one question after each epoch's
// validation: did the metric improve on the best value so far by more than min_delta? A first
// value always improves. val_loss improves downward, val_accuracy upward. After `patience`
// epochs in a row without improvement the monitor is exhausted (Keras's `wait >= patience`):
// early stopping stops there, reduce-on-plateau lowers the rate and starts counting again. The
// state (best value, its epoch, the count) goes into checkpoints, so a resumed run decides
// exactly as an uninterrupted one.
struct MetricMonitor {
  std::string metric = "val_loss";  // val_loss (lower is better) or val_accuracy (higher is better)
  double min_delta = 0.0;           // the smallest change that counts as an improvement, >= 0
  int64_t patience = 0;             // epochs without improvement before exhausted(); 0: never

  // State.
  double best = 0.0;
  int64_t best_epoch = -1;  // 0-based epoch of `best`; -1 before the first update
  int64_t stale_epochs = 0; // epochs since the last improvement

  // Records `value` measured after `epoch`; true if it improved on the best.
  bool update(int64_t epoch, double value);
  bool exhausted() const { return patience > 0 && stale_epochs >= patience; }
  void reset_count() { stale_epochs = 0; }

  void validate() const;  // ConfigError for an unknown metric, a negative min_delta or patience
  nlohmann::json settings_json() const;  // metric, min_delta, patience
  nlohmann::json state_json() const;     // best, best_epoch, stale_epochs
  void restore_state(const nlohmann::json& state);
};

// True for the metric names a monitor accepts.
bool is_monitored_metric(const std::string& name);

}  // namespace convoy
