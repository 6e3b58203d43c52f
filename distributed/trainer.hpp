// Trainer: the data-parallel training loop, the same code for one rank and for many.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/batch_reader.hpp"
#include "core/lr_schedule.hpp"
#include "core/metric_monitor.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "distributed/communicator.hpp"
#include "distributed/gradient_reducer.hpp"
#include "distributed/rank_sum.hpp"
#include "distributed/sampler.hpp"
#include "distributed/training_observer.hpp"

namespace convoy {

struct TrainerConfig {
  int64_t epochs = 1;          // train until this many epochs are complete
  int64_t global_batch = 64;   // samples per optimizer step, over all ranks
  uint64_t seed = 42;
  int threads = 1;             // OpenMP threads per rank
  bool shuffle = true;
  bool drop_last = false;      // false: the last global batch of an epoch may be smaller
  int64_t log_every = 100;     // steps between StepReports
  int64_t eval_batch = 256;    // per rank
  int64_t bucket_bytes = GradientReducer::kDefaultBucketBytes;  // all-reduce bucket size
  Reduction reduction = Reduction::ordered;  // Note [Ordered reduction]
  int64_t checkpoint_every = 0;       // steps; 0 = only at the end and on preemption
  int64_t stop_after = 0;             // stop (as if preempted) once this many steps are done; 0 = never
  // What the best checkpoint and early stopping watch on the validation set (Note [Monitored
  // metric]); its patience is early stopping's, 0 = never stop early.
  MetricMonitor monitor{};

  // Throws ConfigError naming the first field out of range (a log_every of 0 would divide by zero).
  void validate() const;
};

// Where a run stands: enough, with parameters and optimizer state, to continue exactly.
struct TrainingCursor {
  int64_t epoch = 0;           // current epoch (0-based)
  int64_t batch_in_epoch = 0;  // next global batch of that epoch
  int64_t global_step = 0;     // optimizer steps taken
};

// Why fit() returned.
enum class StopReason { finished, preempted, early_stopped };

// What stopped a preempted fit(), the same on every rank.
struct StopCause {
  int rank = -1;  // the lowest rank whose stop flag was set; -1: stop_after was reached
  int code = 0;   // the largest stop flag value over the ranks (a signal number)
};

class Trainer {
 public:
  // The model must be built for at least ceil(global_batch / ranks) samples. Throws ConfigError
  // for a config that does not validate, or a batch larger than the dataset (checked in fit,
  // which knows the data).
  Trainer(Model& model, Optimizer& optimizer, LrSchedule schedule, Communicator& comm, const TrainerConfig& config);

  // Called on every rank when all ranks agreed a checkpoint is due: every checkpoint_every
  // steps, on preemption, and when fit() finishes (possibly at a step already saved). Rank 0's
  // caller writes it; a throw there ends the job through main's abort.
  void set_checkpoint_hook(std::function<void(const TrainingCursor&)> hook) { checkpoint_hook_ = std::move(hook); }
  // A flag a signal handler may set (non-zero: stop, the value a code such as the signal
  // number); checked at every step boundary, agreed over all ranks, reported in stop_cause().
  void set_stop_flag(const std::atomic<int>* flag) { stop_flag_ = flag; }
  // Evaluated after every epoch on all ranks (loss and accuracy in EpochReport::val); needed by
  // reduce-on-plateau and early stopping. Null: none.
  void set_validation(BatchReader* val) { val_ = val; }
  // Called on every rank after an epoch whose validation metric is the best so far, before any
  // other checkpoint of that epoch; rank 0's caller writes best.ckpt.
  void set_best_hook(std::function<void(const TrainingCursor&)> hook) { best_hook_ = std::move(hook); }

  // The schedule's and the monitor's settings, and with_state their state: what a checkpoint
  // stores as its schedule, so a resumed run takes the same rates and stops at the same epoch.
  nlohmann::json schedule_json(bool with_state) const;
  // Restores the state of a schedule_json (absent in checkpoints written before it existed).
  void restore_schedule_state(const nlohmann::json& schedule_json);
  const MetricMonitor& monitor() const { return monitor_; }

  // Makes every rank start from rank 0's parameters and verifies all ranks run the same model,
  // data and settings (ConfigError naming what differs otherwise).
  void synchronize_start(const DatasetInfo& train);

  // Trains from `start` until config.epochs are complete, a stop is agreed, or the monitored
  // metric ran out of patience (early_stopped: the cursor is at the next epoch).
  StopReason fit(BatchReader& train, BatchReader* test, TrainingObserver& observer, TrainingCursor start = {});

  // Loss and accuracy over the whole dataset; each rank evaluates a contiguous shard.
  EvalReport evaluate(BatchReader& data);

  const TrainingCursor& cursor() const { return cursor_; }
  // Valid after fit() returned StopReason::preempted.
  const StopCause& stop_cause() const { return stop_cause_; }

  using Clock = std::chrono::steady_clock;

 private:
  // Loss, correct predictions and samples of an interval or an epoch.
  struct Tally {
    double loss_sum = 0.0;
    double correct = 0.0;
    double samples = 0.0;
    void add(const Tally& t) { loss_sum += t.loss_sum, correct += t.correct, samples += t.samples; }
    double mean_loss() const { return samples > 0 ? loss_sum / samples : 0.0; }
    double accuracy() const { return samples > 0 ? correct / samples : 0.0; }
  };
  // This rank's sums since the last StepReport.
  struct Interval {
    Clock::time_point start;
    Tally tally;
    double wait = 0.0;       // seconds waiting for the gradient sum
    double data_wait = 0.0;  // seconds waiting for the loader's batches
    double agree = 0.0;      // seconds in the per-step agreement (stop_agreed)
    double statistics = 0.0;  // seconds in sums over ranks inside the passes (RankTimes)
  };

  void check_data(const DatasetInfo& info) const;
  // Hands the loader this rank's slices of the rest of the epoch; which steps have samples here.
  std::vector<char> plan_epoch(Sampler& sampler, BatchReader& train) const;
  // What was agreed at an epoch's last step: the checkpoint is written after validation.
  struct EpochEnd {
    bool stop = false;        // a stop was agreed at the last step
    bool checkpoint = false;  // checkpoint_every fell on the last step
  };
  // The steps of the current epoch from the cursor on; adds the reported (all-rank) sums.
  // Returns preempted for a stop agreed before the last step (its checkpoint written).
  StopReason train_epoch(Sampler& sampler, BatchReader& train, TrainingObserver& observer, Tally& epoch_tally,
                         EpochEnd& end);
  // Collective: the epoch's report, validation, plateau and monitor updates, the best hook.
  // True when early stopping's patience ran out.
  bool end_epoch(const Tally& tally, double seconds, BatchReader* test, TrainingObserver& observer);
  // Collective: a stop signal on any rank, or stop_after reached. Throws ConfigError on every
  // rank when the step's loss was not finite on any rank (one all-reduce carries both).
  bool stop_agreed(bool loss_finite);
  // Collective: sums the interval over ranks, checks the loss, reports it and starts a new interval.
  Tally report_interval(Interval& interval, int64_t steps_per_epoch, TrainingObserver& observer);
  void train_step(const Batch& batch, int64_t global_batch_size, int64_t first_sample, double& loss_sum,
                  int64_t& correct);

  Model& model_;
  Optimizer& optimizer_;
  LrSchedule schedule_;
  Communicator& comm_;
  TrainerConfig config_;
  TrainingCursor cursor_;
  CommRankSum rank_sum_;  // Note [Sums over ranks in a pass]
  Tensor logits_grad_;
  Batch empty_batch_;  // what a rank without samples in a step trains on
  std::function<void(const TrainingCursor&)> checkpoint_hook_, best_hook_;
  BatchReader* val_ = nullptr;
  MetricMonitor monitor_;          // config_.monitor with its state
  int64_t steps_per_epoch_ = 1;    // the current fit()'s, for warmup in epochs
  const std::atomic<int>* stop_flag_ = nullptr;
  StopCause stop_cause_;
  double allreduce_wait_ = 0.0;
  std::unique_ptr<GradientReducer> reducer_;  // the current fit()'s
};

}  // namespace convoy
