#include "distributed/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/softmax_cross_entropy.hpp"
#include "distributed/agreement.hpp"
#include "distributed/evaluate.hpp"
#include "distributed/gradient_reducer.hpp"
#include "distributed/sampler.hpp"

namespace convoy {
namespace {

double seconds(Trainer::Clock::time_point a, Trainer::Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

void TrainerConfig::validate() const {
  const auto at_least = [](const char* field, int64_t value, int64_t min) {
    CONVOY_CHECK(value >= min, ConfigError, "trainer config: ", field, " is ", value, ", expected >= ", min);
  };
  at_least("epochs", epochs, 0);
  at_least("global_batch", global_batch, 1);
  at_least("threads", threads, 1);
  at_least("log_every", log_every, 1);
  at_least("eval_batch", eval_batch, 1);
  at_least("bucket_bytes", bucket_bytes, 1);
  at_least("checkpoint_every", checkpoint_every, 0);
  at_least("stop_after", stop_after, 0);
  monitor.validate();
}

Trainer::Trainer(Model& model, Optimizer& optimizer, LrSchedule schedule, Communicator& comm,
                 const TrainerConfig& config)
    : model_(model),
      optimizer_(optimizer),
      schedule_(std::move(schedule)),
      comm_(comm),
      config_(config),
      rank_sum_(comm),
      monitor_(config.monitor) {
  schedule_.validate();
  config_.validate();
  const int64_t per_rank = (config_.global_batch + comm_.size() - 1) / comm_.size();
  CONVOY_ASSERT(model_.max_batch() >= per_rank, "model built for batches of ", model_.max_batch(),
                ", but each rank needs up to ", per_rank);
  logits_grad_ = Tensor(Shape{model_.max_batch(), model_.spec().classes});
}

void Trainer::synchronize_start(const DatasetInfo& train) {
  check_same_on_all_ranks(comm_, model_.fingerprint(), "model (architecture and parameter shapes)");
  uint64_t data = fnv1a(&train.size, sizeof train.size);
  data = fnv1a(train.sample.str(), data);
  data = fnv1a(&train.classes, sizeof train.classes, data);
  check_same_on_all_ranks(comm_, data, "training dataset (sample count, shape, classes)");
  std::string settings = optimizer_.config().to_json().dump() + schedule_json(false).dump();
  settings += std::to_string(config_.global_batch) + "/" + std::to_string(config_.seed) + "/" +
              std::to_string(config_.epochs) + "/" + std::to_string(config_.shuffle) + std::to_string(config_.drop_last) +
              "/" + reduction_name(config_.reduction) + "/" + std::to_string(config_.bucket_bytes) + "/" +
              std::to_string(config_.log_every) + "/" + std::to_string(config_.checkpoint_every) + "/" +
              std::to_string(config_.stop_after);
  // Ranks that cut other buckets or reduce another way would wait in different collectives.
  check_same_on_all_ranks(comm_, fnv1a(settings),
                          "training settings (optimizer, schedule, batch, seed, epochs, reduction, bucket size, "
                          "log, checkpoint and stop intervals)");
  comm_.broadcast(model_.parameters(), model_.parameter_count() * static_cast<int64_t>(sizeof(float)), 0);
  check_same_on_all_ranks(comm_, fnv1a(model_.parameters(), model_.parameter_count() * sizeof(float)),
                          "initial parameters");
  // Note [Buffer store]: running statistics start from rank 0's as well.
  comm_.broadcast(model_.buffers(), model_.buffer_count() * static_cast<int64_t>(sizeof(float)), 0);
}

void Trainer::train_step(const Batch& batch, int64_t global_batch_size, int64_t first_sample, double& loss_sum,
                         int64_t& correct) {
  PassContext ctx;
  ctx.threads = config_.threads;
  ctx.training = true;
  ctx.seed = config_.seed;
  ctx.step = cursor_.global_step;
  ctx.first_sample = first_sample;
  ctx.rank_sum = &rank_sum_;
  const int64_t n = static_cast<int64_t>(batch.labels.size());
  GradientReducer& reducer = *reducer_;
  reducer.begin_step();
  if (n > 0) {
    const Tensor& logits = model_.forward(batch.images, ctx);
    Tensor grad = logits_grad_.reshaped(logits.shape());
    const LossStats stats = softmax_cross_entropy(logits, batch.labels.data(), 1.0f / global_batch_size, &grad);
    loss_sum += stats.loss_sum;
    correct += stats.correct;
    model_.backward(grad, ctx, [&reducer](int64_t offset) { reducer.ready_from(offset); });
  } else {
    // A rank with no samples in a short last batch still contributes (zeros) to every collective.
    model_.pass_without_samples(ctx);
    std::fill(model_.gradients(), model_.gradients() + model_.parameter_count(), 0.0f);
  }
  reducer.finish();
  allreduce_wait_ += reducer.last_wait_seconds();
  optimizer_.step(model_.parameters(), model_.gradients(),
                  schedule_.at(cursor_.epoch, cursor_.global_step, steps_per_epoch_), config_.threads);
  ++cursor_.global_step;
}

void Trainer::check_data(const DatasetInfo& info) const {
  CONVOY_CHECK(config_.global_batch <= info.size, ConfigError, "global batch of ", config_.global_batch,
               " samples: larger than the training set of ", info.size, " samples");
  CONVOY_CHECK(info.sample == model_.spec().input, ShapeError, "training data samples are ", info.sample.str(),
               ", the model expects ", model_.spec().input.str());
  CONVOY_CHECK(info.classes <= model_.spec().classes, ShapeError, "training data has ", info.classes,
               " classes, the model outputs ", model_.spec().classes);
}

nlohmann::json Trainer::schedule_json(bool with_state) const {
  nlohmann::json j = schedule_.to_json();
  // Absent at its defaults, so a run that watches nothing has the settings it always had.
  if (monitor_.settings_json() != MetricMonitor{}.settings_json()) j["monitor"] = monitor_.settings_json();
  if (with_state) j["state"] = {{"schedule", schedule_.state_json()}, {"monitor", monitor_.state_json()}};
  return j;
}

void Trainer::restore_schedule_state(const nlohmann::json& schedule_json) {
  if (!schedule_json.contains("state")) return;
  const nlohmann::json& state = schedule_json.at("state");
  CONVOY_CHECK(state.contains("schedule") && state.contains("monitor"), IoError,
               "schedule state: expected 'schedule' and 'monitor', found ", state.dump());
  schedule_.restore_state(state.at("schedule"));
  monitor_.restore_state(state.at("monitor"));
}

StopReason Trainer::fit(BatchReader& train, BatchReader* test, TrainingObserver& observer, TrainingCursor start) {
  check_data(train.info());
  CONVOY_CHECK(val_ != nullptr || (schedule_.policy != LrPolicy::plateau && monitor_.patience == 0), ConfigError,
               "reduce-on-plateau and early stopping watch a validation metric: they need a validation set");
  Sampler sampler(train.info().size, config_.global_batch, config_.seed, config_.shuffle, config_.drop_last);
  steps_per_epoch_ = sampler.batches_per_epoch();
  reducer_ = std::make_unique<GradientReducer>(comm_, model_.gradients(), model_.parameter_count(),
                                               config_.bucket_bytes, config_.reduction);
  cursor_ = start;
  for (; cursor_.epoch < config_.epochs; ++cursor_.epoch, cursor_.batch_in_epoch = 0) {
    const auto epoch_start = Clock::now();
    Tally epoch_tally;
    EpochEnd end;
    if (train_epoch(sampler, train, observer, epoch_tally, end) == StopReason::preempted) return StopReason::preempted;
    const bool early = end_epoch(epoch_tally, seconds(epoch_start, Clock::now()), test, observer);
    // After validation, so the checkpoint holds the epoch's metrics and the monitor's decision.
    const TrainingCursor next{cursor_.epoch + 1, 0, cursor_.global_step};
    if ((end.stop || end.checkpoint) && checkpoint_hook_) checkpoint_hook_(next);
    if (end.stop) return StopReason::preempted;
    if (early) {
      cursor_ = next;
      if (checkpoint_hook_) checkpoint_hook_(cursor_);
      return StopReason::early_stopped;
    }
  }
  if (checkpoint_hook_) checkpoint_hook_(cursor_);
  return StopReason::finished;
}

std::vector<char> Trainer::plan_epoch(Sampler& sampler, BatchReader& train) const {
  // A rank may have no sample in a short last batch: nothing is read for it, but it still
  // steps (with zero gradients) so every collective is matched.
  std::vector<std::vector<int64_t>> plan;
  std::vector<char> has_samples;
  for (int64_t b = cursor_.batch_in_epoch; b < sampler.batches_per_epoch(); ++b) {
    std::vector<int64_t> slice = sampler.rank_slice(cursor_.epoch, b, comm_.rank(), comm_.size());
    has_samples.push_back(!slice.empty());
    if (!slice.empty()) plan.push_back(std::move(slice));
  }
  train.plan(std::move(plan), cursor_.epoch);
  return has_samples;
}

StopReason Trainer::train_epoch(Sampler& sampler, BatchReader& train, TrainingObserver& observer,
                                Tally& epoch_tally, EpochEnd& end) {
  const int64_t steps_per_epoch = sampler.batches_per_epoch();
  const int64_t first_batch = cursor_.batch_in_epoch;
  const std::vector<char> has_samples = plan_epoch(sampler, train);
  Interval interval;
  interval.start = Clock::now();
  while (cursor_.batch_in_epoch < steps_per_epoch) {
    const int64_t b = cursor_.batch_in_epoch;
    const auto fetch = Clock::now();
    const Batch& batch = has_samples[b - first_batch] ? train.next() : empty_batch_;
    interval.data_wait += seconds(fetch, Clock::now());
    double loss_sum = 0.0;
    int64_t correct = 0;
    const double wait_before = allreduce_wait_;
    const double statistics_before = rank_sum_.seconds();
    comm_.set_step(cursor_.global_step + 1);
    train_step(batch, sampler.global_batch_size(b), sampler.rank_offset(b, comm_.rank(), comm_.size()), loss_sum,
               correct);
    interval.wait += allreduce_wait_ - wait_before;
    interval.statistics += rank_sum_.seconds() - statistics_before;
    interval.tally.add({loss_sum, static_cast<double>(correct), static_cast<double>(batch.labels.size())});
    ++cursor_.batch_in_epoch;

    const auto agree = Clock::now();
    const bool stop = stop_agreed(std::isfinite(loss_sum));
    interval.agree += seconds(agree, Clock::now());
    if (cursor_.batch_in_epoch % config_.log_every == 0 || cursor_.batch_in_epoch == steps_per_epoch) {
      epoch_tally.add(report_interval(interval, steps_per_epoch, observer));
    }
    const bool due = config_.checkpoint_every > 0 && cursor_.global_step % config_.checkpoint_every == 0;
    if (cursor_.batch_in_epoch == steps_per_epoch) {
      end = {.stop = stop, .checkpoint = due};  // fit() saves after the epoch's validation
      break;
    }
    if ((stop || due) && checkpoint_hook_) checkpoint_hook_(cursor_);
    if (stop) {
      comm_.set_step(-1);
      return StopReason::preempted;
    }
  }
  comm_.set_step(-1);  // evaluation and the rest are outside steps
  return StopReason::finished;
}

bool Trainer::stop_agreed(bool loss_finite) {
  // Each flag as size - rank, so the max over ranks names the lowest rank that raised it (0: none).
  const int64_t me = comm_.size() - comm_.rank();
  const int64_t code = stop_flag_ != nullptr ? stop_flag_->load() : 0;
  int64_t flags[3] = {code != 0 ? me : 0, loss_finite ? 0 : me, code};
  if (comm_.size() > 1) comm_.allreduce_max(flags, 3);
  // Every step, not only logged ones: a checkpoint or another step from a non-finite state is lost work.
  CONVOY_CHECK(flags[1] == 0, ConfigError, "training diverged: the loss on rank ", comm_.size() - flags[1],
               " is not finite (nan or inf) at step ", cursor_.global_step, " (epoch ", cursor_.epoch + 1,
               "); try a lower learning rate or another optimizer");
  if (flags[0] != 0) {
    stop_cause_ = {.rank = comm_.size() - static_cast<int>(flags[0]), .code = static_cast<int>(flags[2])};
    return true;
  }
  stop_cause_ = {};
  return config_.stop_after > 0 && cursor_.global_step >= config_.stop_after;
}

Trainer::Tally Trainer::report_interval(Interval& interval, int64_t steps_per_epoch, TrainingObserver& observer) {
  double sums[3] = {interval.tally.loss_sum, interval.tally.correct, interval.tally.samples};
  comm_.allreduce_sum(sums, 3);
  const Tally all{sums[0], sums[1], sums[2]};
  // Every rank sees the same reduced loss, so all stop here together.
  CONVOY_CHECK(std::isfinite(all.loss_sum), ConfigError, "training diverged: the loss is ", all.loss_sum,
               " at step ", cursor_.global_step, " (epoch ", cursor_.epoch + 1,
               "); try a lower learning rate or another optimizer");
  const auto now = Clock::now();
  const double elapsed = seconds(interval.start, now);
  StepReport r;
  r.epoch = cursor_.epoch;
  r.step_in_epoch = cursor_.batch_in_epoch;
  r.steps_per_epoch = steps_per_epoch;
  r.global_step = cursor_.global_step;
  r.loss = all.mean_loss();
  r.accuracy = all.accuracy();
  r.images_per_second = elapsed > 0 ? all.samples / elapsed : 0.0;
  r.learning_rate = schedule_.at(cursor_.epoch, cursor_.global_step - 1, steps_per_epoch_);
  r.allreduce_wait_share = elapsed > 0 ? interval.wait / elapsed : 0.0;
  // Every rank's times (Note [One code path]: the world of one gathers its own).
  const double waits = interval.wait + interval.agree;
  constexpr int kTimes = 4;
  const double own[kTimes] = {std::max(0.0, elapsed - interval.data_wait - waits - interval.statistics),
                              interval.data_wait, waits, interval.statistics};
  std::vector<double> times(kTimes * static_cast<size_t>(comm_.size()));
  comm_.allgather(own, kTimes, times.data());
  r.ranks.resize(comm_.size());
  for (int k = 0; k < comm_.size(); ++k) {
    const double* t = &times[kTimes * static_cast<size_t>(k)];
    r.ranks[k] = {t[0], t[1], t[2], t[3]};
  }
  observer.on_step(r);
  interval = Interval();
  interval.start = now;
  return all;
}

bool Trainer::end_epoch(const Tally& tally, double seconds, BatchReader* test, TrainingObserver& observer) {
  EpochReport report;
  report.epoch = cursor_.epoch;
  report.seconds = seconds;
  report.train_loss = tally.mean_loss();
  report.train_accuracy = tally.accuracy();
  report.images_per_second = seconds > 0 ? tally.samples / seconds : 0.0;
  report.learning_rate = schedule_.at(cursor_.epoch, cursor_.global_step - 1, steps_per_epoch_);
  if (test != nullptr) {
    report.has_test = true;
    report.test = evaluate(*test);
  }
  bool early = false;
  if (val_ != nullptr) {
    // Every rank has the same all-reduced figures, so every rank takes the same decisions.
    report.has_val = true;
    report.val = evaluate(*val_);
    const double value = monitor_.metric == "val_accuracy" ? report.val.accuracy : report.val.loss;
    report.lr_reduced = schedule_.end_epoch(cursor_.epoch, value);
    report.improved = monitor_.update(cursor_.epoch, value);
    early = monitor_.exhausted();
  }
  observer.on_epoch(report);
  if (report.improved && best_hook_) best_hook_({cursor_.epoch + 1, 0, cursor_.global_step});
  return early;
}

EvalReport Trainer::evaluate(BatchReader& data) {
  return convoy::evaluate(model_, data, comm_, config_.threads, config_.eval_batch);
}

}  // namespace convoy
