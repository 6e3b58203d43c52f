// convoy train: options, start-up, the training run, the final summary line.
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "apps/activity.hpp"
#include "apps/activity_observer.hpp"
#include "apps/checkpointing.hpp"
#include "apps/commands.hpp"
#include "apps/data_sources.hpp"
#include "apps/exit_codes.hpp"
#include "apps/memory_estimate.hpp"
#include "apps/preprocessing_record.hpp"
#include "apps/progress.hpp"
#include "apps/runtime_info.hpp"
#include "apps/signals.hpp"
#include "apps/train_options.hpp"
#include "apps/weights_exchange.hpp"
#include "core/error.hpp"
#include "core/layer_segments.hpp"
#include "core/model.hpp"
#include "distributed/host_map.hpp"
#include "distributed/trainer.hpp"
#include "io/regular_file.hpp"

namespace convoy {
namespace {

// The datasets a run reads: --data, and --test and --val when given; how their samples are prepared.
struct TrainData {
  std::unique_ptr<BatchReader> train;
  std::unique_ptr<BatchReader> test;
  std::unique_ptr<BatchReader> val;
  Normalization normalization;  // the training set's, applied to every set the run reads
  PreprocessingRecord record;   // what checkpoints record (Note [Preprocessing record])
  std::string residence;        // where the training images are read from (Note [Resident images])
};

// The classes the model outputs when known before the data is read: --classes, or the model
// file's; 0 when they come from the data. Labels are checked against them, naming any outside.
int64_t known_classes(const TrainOptions& o) {
  const int64_t from_file = model_file_classes(o.model);
  CONVOY_CHECK(o.classes == 0 || from_file == 0 || o.classes == from_file, ConfigError, "--classes ", o.classes,
               ": the model file '", o.model, "' outputs ", from_file);
  return o.classes > 0 ? o.classes : from_file;
}

TrainData open_train_data(const TrainOptions& o, int64_t per_rank) {
  TrainData d;
  const int64_t classes = known_classes(o);
  DatasetParts train = open_dataset_parts(o.data, "--data", classes, per_rank);
  d.normalization = o.preprocessing.normalization(train, "--data");
  const Augmentation augmentation = o.preprocessing.augmentation();
  const Shape& sample = train.info().sample;
  CONVOY_CHECK(augmentation.crop_padding < sample[1] && augmentation.crop_padding < sample[2], ConfigError,
               "--augment crop:", augmentation.crop_padding,
               ": expected a padding below the samples' height and width, --data holds samples ", sample.str());
  d.record = training_record(train, d.normalization, augmentation);
  d.residence = describe_residence(train);
  LoaderOptions train_loading;
  train_loading.augmentation = augmentation;
  train_loading.seed = o.seed;
  train_loading.normalization = d.normalization;
  d.train = std::make_unique<Loader>(std::move(train), train_loading);
  // Not the largest label + 1: a class with no sample in this file would silently vanish.
  CONVOY_CHECK(d.train->info().classes > 0, ConfigError, "--data '", o.data,
               "': /labels has no class_names attribute, so the number of classes is not known: give --classes N "
               "(labels must lie in [0, N)) or a model file that states its classes");
  CONVOY_CHECK(o.batch <= d.train->info().size, ConfigError, "--batch ", o.batch, ": larger than the training set of ",
               d.train->info().size, " samples in ", o.data);
  LoaderOptions test_loading;  // the training set's normalisation, never augmentation
  test_loading.normalization = d.normalization;
  if (!o.test.empty()) d.test = open_dataset(o.test, "--test", d.train->info().classes, per_rank, test_loading);
  if (!o.val.empty()) {
    d.val = open_dataset(o.val, "--val", d.train->info().classes, per_rank, test_loading);
    CONVOY_CHECK(d.val->info().sample == d.train->info().sample, ShapeError, "--val '", o.val, "': samples are ",
                 d.val->info().sample.str(), ", --data's are ", d.train->info().sample.str());
  }
  return d;
}

// Collective. Rank 0 prints the model, the data, the run's shape and the ranks on each host;
// every rank warns about its cores.
void print_startup(const TrainOptions& o, const Model& model, const DatasetInfo& info, const TrainData& data,
                   Communicator& comm, int threads) {
  const bool root = comm.rank() == 0;
  const std::vector<std::string> hosts = gather_host_names(comm);
  if (root) {
    std::printf("%s\n", model.summary().c_str());
    std::printf("data: %s, %lld samples %s, %lld classes; global batch %lld over %d rank%s%s\n", o.data.c_str(),
                static_cast<long long>(info.size), info.sample.str().c_str(), static_cast<long long>(info.classes),
                static_cast<long long>(o.batch), comm.size(), comm.size() == 1 ? "" : "s",
                comm.size() == 1 ? "" : (", " + o.reduction + " reduction").c_str());
    std::printf("data: %s\n", data.residence.c_str());
    if (comm.size() > 1) std::printf("%s\n", describe_hosts(hosts).c_str());
    if (o.preprocessing.normalize || o.preprocessing.augmentation().active())
      std::printf("preprocessing: %s\n",
                  describe_preprocessing(data.normalization, o.preprocessing.augmentation()).c_str());
  }
  const std::string line = startup_line(comm.rank(), comm.size(), comm.host(), threads);
  if (root || line.find("warning") != std::string::npos) std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// Rank 0: what stopped the run (on which rank) and what was saved.
void print_preempted(const Trainer& trainer, const CheckpointKeeper& keeper, int64_t stop_after) {
  const StopCause& cause = trainer.stop_cause();
  const std::string why = cause.rank >= 0 ? "signal " + std::to_string(cause.code) + " (" +
                                                signal_name(static_cast<int>(cause.code)) + ") on rank " +
                                                std::to_string(cause.rank)
                                          : "--stop-after " + std::to_string(stop_after);
  std::printf("stopped by %s at step %lld; %s\n", why.c_str(), static_cast<long long>(trainer.cursor().global_step),
              keeper.last_path().empty()
                  ? "no checkpoint (no --checkpoint-dir): nothing saved"
                  : ("checkpoint " + keeper.last_path() + "; resume with --resume auto").c_str());
}

// Rank 0: why early stopping ended the run, and where its best state is.
void print_early_stop(const Trainer& trainer, const CheckpointKeeper& keeper) {
  const MetricMonitor& m = trainer.monitor();
  std::printf("early stopping: %s has not improved by more than %g for %lld epochs; best %.4f after epoch %lld%s\n",
              m.metric.c_str(), m.min_delta, static_cast<long long>(m.stale_epochs), m.best,
              static_cast<long long>(m.best_epoch) + 1,
              keeper.best_path().empty() ? "" : (", saved in " + keeper.best_path()).c_str());
}

// Before the batch's buffers are made: a batch that cannot fit says what to change instead of
// failing in the allocator (the model for one sample is small).
void check_memory_for(const TrainOptions& o, const ModelSpec& spec, int64_t per_rank) {
  const std::optional<int64_t> available = available_memory_bytes();
  if (!available) return;
  const Model one_sample(spec, 1, 1);
  const int optimizer_slots = o.optimizer == "adam" ? 2 : (o.momentum > 0 ? 1 : 0);
  check_training_memory(estimate_training_memory(one_sample, optimizer_slots), per_rank, o.batch, *available);
}

// Rank 0, at the end: the last checkpoint and the best one.
void print_saved(const Trainer& trainer, const CheckpointKeeper& keeper) {
  if (!keeper.last_path().empty()) std::printf("checkpoint: %s\n", keeper.last_path().c_str());
  if (!keeper.best_path().empty())
    std::printf("best: %s (%s %.4f after epoch %lld)\n", keeper.best_path().c_str(), trainer.monitor().metric.c_str(),
                trainer.monitor().best, static_cast<long long>(trainer.monitor().best_epoch) + 1);
}

// Starts the model from --init-weights (every rank reads the file: it is small beside the
// data, and the ranks then check they agree), except the --reinit layers.
void load_init_weights(const TrainOptions& o, Model& model, bool root) {
  require_regular_file(o.init_weights, "--init-weights");
  const std::set<std::string> reinit(o.reinit.begin(), o.reinit.end());
  for (const std::string& extra : import_weights(model, read_weights_file(o.init_weights), o.init_weights, reinit))
    if (root) std::fprintf(stderr, "convoy: warning: --init-weights: %s is not in the model, ignored\n", extra.c_str());
}

// Collective: the final evaluation on --test; rank 0 prints it and adds it to the metrics.
void final_test(Trainer& trainer, BatchReader& test, ProgressReporter& reporter, bool root) {
  const EvalReport result = trainer.evaluate(test);
  if (!root) return;
  std::printf("test: loss=%.4f accuracy=%.2f%% samples=%lld\n", result.loss, 100.0 * result.accuracy,
              static_cast<long long>(result.samples));
  reporter.write_metrics(nlohmann::json{{"type", "test"}, {"loss", result.loss}, {"accuracy", result.accuracy}}.dump());
}

int run_train(const TrainOptions& o, Communicator& comm) {
  o.validate();
  comm.set_activity("start-up (settings, data, model, checkpoint)");
  // Before any other collective: ranks that differ here would wait in different ones forever.
  check_settings_on_all_ranks(comm, o.collective_settings(), "the setting");
  const bool root = comm.rank() == 0;
  const int64_t per_rank = (o.batch + comm.size() - 1) / comm.size();
  const TrainData data = open_train_data(o, per_rank);
  const ResidentMemory before_model = resident_memory();
  const DatasetInfo& info = data.train->info();
  CONVOY_CHECK(o.batch <= info.size, ConfigError, "--batch ", o.batch, ": larger than the training set of ",
               info.size, " samples (--data)");

  const TrainerConfig config = o.trainer_config();
  std::optional<Activity> building(std::in_place, "building the model '" + o.model + "' for batches of " +
                                                      std::to_string(per_rank) + " samples a rank");
  const ModelSpec spec = resolve_model(o.model, info);
  check_memory_for(o, spec, per_rank);
  Model model(spec, per_rank, config.threads);
  model.initialize(o.seed);
  if (!o.init_weights.empty()) load_init_weights(o, model, root);
  // Before the first step, not at the first evaluation an epoch later.
  if (data.test)
    CONVOY_CHECK(data.test->info().sample == model.spec().input, ShapeError, "--test '", o.test, "': samples are ",
                 data.test->info().sample.str(), ", the model expects ", model.spec().input.str());
  const OptimizerConfig optimizer_config = o.optimizer_config();
  auto optimizer = make_optimizer(optimizer_config, model.parameter_count());
  // Note [Layer learning rates]
  optimizer->set_segments(layer_segments(model, optimizer_config.layer_lr_multipliers));
  building.reset();
  Trainer trainer(model, *optimizer, o.schedule(), comm, config);
  CheckpointKeeper keeper(comm,
                          {.dir = o.checkpoint_dir, .keep = o.keep, .settings_json = o.to_json(),
                           .schedule_json = trainer.schedule_json(false).dump(), .seed = o.seed,
                           .global_batch = o.batch, .preprocessing_json = data.record.to_json()},
                          model, *optimizer, info);
  std::vector<std::string> history;
  std::string saved_schedule;
  const TrainingCursor start = keeper.restore(o.resume, history, saved_schedule);
  if (!saved_schedule.empty()) trainer.restore_schedule_state(nlohmann::json::parse(saved_schedule));
  trainer.synchronize_start(info);
  print_startup(o, model, info, data, comm, config.threads);

  ProgressReporter reporter(stdout, o.progress_bar(), o.epochs, o.batch, root ? o.metrics : "", std::move(history));
  TrainingObserver silent;
  ActivityObserver observer(root ? static_cast<TrainingObserver&>(reporter) : silent, comm);
  // The handlers were installed first thing in main (Note [Preemption]).
  trainer.set_stop_flag(&stop_requested());
  if (!o.checkpoint_dir.empty()) {
    // The hooks outlive this block: they capture what lives as long as the trainer, by reference.
    trainer.set_checkpoint_hook([&trainer, &keeper, &reporter](const TrainingCursor& at) {
      keeper.save(at, reporter.history(), trainer.schedule_json(true).dump());
    });
    trainer.set_best_hook([&trainer, &keeper, &reporter](const TrainingCursor& at) {
      keeper.save_best(at, reporter.history(), trainer.schedule_json(true).dump());
    });
  }
  trainer.set_validation(data.val.get());
  const Activity training("training");
  const StopReason stopped = trainer.fit(*data.train, data.test.get(), observer, start);
  if (root) std::printf("%s\n", memory_line(before_model, resident_memory()).c_str());
  if (stopped == StopReason::preempted) {
    if (root) print_preempted(trainer, keeper, o.stop_after);
    return o.checkpoint_dir.empty() ? kExitStoppedUnsaved : kExitPreempted;
  }
  if (stopped == StopReason::early_stopped && root) print_early_stop(trainer, keeper);
  comm.set_activity("final test");
  if (data.test) final_test(trainer, *data.test, reporter, root);
  if (root) print_saved(trainer, keeper);
  return kExitOk;
}

}  // namespace

void add_train_command(CLI::App& app, Communicator& comm, int& exit_code) {
  auto options = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train a model on an HDF5 dataset (one rank, or many under mpirun)");
  options->add_to(*cmd);
  cmd->callback([options, &comm, &exit_code] { exit_code = run_train(*options, comm); });
}

}  // namespace convoy
