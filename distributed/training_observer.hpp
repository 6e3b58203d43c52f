// TrainingObserver: what the trainer reports as it goes (progress, logs, metrics files).
#pragma once

#include <cstdint>

namespace convoy {

struct StepReport {
  int64_t epoch = 0;            // 0-based
  int64_t step_in_epoch = 0;    // global batches done in this epoch
  int64_t steps_per_epoch = 0;
  int64_t global_step = 0;      // optimizer steps since the run began (across resumes)
  double loss = 0.0;            // mean over the samples since the last report, all ranks
  double accuracy = 0.0;        // fraction correct over the same samples
  double images_per_second = 0.0;  // all ranks, since the last report
  double learning_rate = 0.0;
  double allreduce_wait_share = 0.0;  // of step time, since the last report
};

struct EvalReport {
  double loss = 0.0;
  double accuracy = 0.0;
  int64_t samples = 0;
};

struct EpochReport {
  int64_t epoch = 0;  // 0-based
  double train_loss = 0.0, train_accuracy = 0.0;
  bool has_test = false;
  EvalReport test;
  bool has_val = false;
  EvalReport val;
  bool improved = false;    // the monitored validation metric is the best so far
  bool lr_reduced = false;  // reduce-on-plateau lowered the rate for the next epoch
  double learning_rate = 0.0;  // of the epoch's last step
  double seconds = 0.0;
  double images_per_second = 0.0;
};

// Called on every rank at the same points; the trainer's caller gives rank 0 a printing
// observer and the other ranks a silent one. Implementations must not throw on one rank only
// in a way that leaves others in a collective: keep them to printing and writing files.
class TrainingObserver {
 public:
  virtual ~TrainingObserver() = default;
  virtual void on_step(const StepReport&) {}
  virtual void on_epoch(const EpochReport&) {}
};

}  // namespace convoy
