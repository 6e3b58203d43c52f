// TrainingObserver: what the trainer reports as it goes (progress, logs, metrics files).
#pragma once

#include <cstdint>
#include <vector>

namespace convoy {

// Where one rank's time went between two step reports, in seconds: computing (forward,
// backward, the update), waiting for the loader's batches, and waiting for the other ranks
// (the gradient sum and the per-step agreement; a fast rank waits there for a slow one), and
// in the sums over ranks inside the passes (batch norm's statistics: Note [Sums over ranks in
// a pass]), which wait for the slowest rank and, across hosts, behind the gradient buckets
// already on the wire.
struct RankTimes {
  double compute = 0.0;
  double data_wait = 0.0;
  double gradient_wait = 0.0;
  double statistics_wait = 0.0;
};

// The median over ranks of compute + data wait (the lower of the two middle ones for an even
// count, so of 2 ranks the faster); 0 for none.
double median_busy_seconds(const std::vector<RankTimes>& ranks);

// The rank whose compute and data wait together exceed the median rank's by more than
// `margin` (0.1: 10%), the most of all; -1 when none does or there is one rank.
int lagging_rank(const std::vector<RankTimes>& ranks, double margin = 0.1);

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
  std::vector<RankTimes> ranks;       // every rank's, in rank order, since the last report
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
