#include "apps/train_options.hpp"

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "apps/cli_checks.hpp"
#include "apps/runtime_info.hpp"
#include "core/error.hpp"

namespace convoy {

void TrainOptions::add_to(CLI::App& cmd) {
  // A repeated option takes its last value, so wrappers can pass defaults and users override them.
  cmd.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // Every number and word is checked here, so a bad value is a usage error (exit code 2).
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr double kHuge = std::numeric_limits<double>::max();
  cmd.add_option("--model", model, "Built-in model (keras-cnn, lenet5) or a JSON model file")->capture_default_str();
  cmd.add_option("--data", data,
                 "Training set (HDF5, made by convoy convert); several files as one: a,b or a quoted glob 'parts/*.h5'")
      ->required();
  cmd.add_option("--test", test, "Test set, evaluated after every epoch and at the end (files as for --data)");
  cmd.add_option("--classes", classes,
                 "Classes the model outputs, labels in [0, N) (default: the model file's, else the number of the "
                 "data's class_names; required when neither states it)")
      ->check(integer_in(1, kMaxClasses));
  cmd.add_option("--epochs", epochs, "Epochs to train")->capture_default_str()->check(integer_in(0, kMax));
  cmd.add_option("--batch", batch, "Global batch size (samples per step over all ranks)")
      ->capture_default_str()
      ->check(integer_in(1, kMaxBatch));
  cmd.add_option("--optimizer", optimizer, "sgd or adam")->capture_default_str()->check(one_of({"sgd", "adam"}));
  cmd.add_option("--lr", lr, "Learning rate")->capture_default_str()->check(number_in(0, false, kHuge, true));
  cmd.add_option("--momentum", momentum, "SGD momentum")->capture_default_str()->check(number_in(0, true, 1, false));
  cmd.add_flag("--nesterov", nesterov, "Nesterov momentum (SGD)");
  cmd.add_option("--weight-decay", weight_decay, "L2 weight decay")
      ->capture_default_str()
      ->check(number_in(0, true, kHuge, true));
  cmd.add_option("--lr-step", lr_step, "Multiply the learning rate by --lr-gamma every this many epochs (0: never)")
      ->capture_default_str()
      ->check(integer_in(0, kMax));
  cmd.add_option("--lr-gamma", lr_gamma, "Learning-rate decay factor")
      ->capture_default_str()
      ->check(number_in(0, false, 1, true));
  cmd.add_option("--threads", threads, "OpenMP threads per rank (default: OMP_NUM_THREADS or the cores available)")
      ->check(integer_in(1, kMaxThreads));
  cmd.add_option("--seed", seed, "Seed of every random stream (init, shuffle, dropout, augmentation)")
      ->capture_default_str()
      ->check(unsigned_integer());
  cmd.add_option("--log-every", log_every, "Steps between progress reports (default 20 on a terminal, else 100)")
      ->check(integer_in(1, kMax));
  cmd.add_option("--progress", progress, "auto, bar or lines")
      ->capture_default_str()
      ->check(one_of({"auto", "bar", "lines"}));
  cmd.add_option("--metrics", metrics, "Append metrics as JSON lines to this file (rank 0)");
  cmd.add_option("--bucket-kib", bucket_kib, "Gradient all-reduce bucket size in KiB")
      ->capture_default_str()
      ->check(integer_in(1, kMaxBucketKib));
  cmd.add_option("--reduction", reduction,
                 "Gradient sum over ranks: ordered (fixed order: the same bits as one rank, see README) or mpi "
                 "(MPI_Iallreduce: less traffic with many ranks)")
      ->capture_default_str()
      ->check(one_of({"ordered", "mpi"}));
  cmd.add_option("--checkpoint-dir", checkpoint_dir, "Write step-<N>.ckpt checkpoints here (rank 0)");
  cmd.add_option("--checkpoint-every", checkpoint_every,
                 "Steps between checkpoints (0: only at the end and on preemption)")
      ->capture_default_str()
      ->check(integer_in(0, kMax));
  cmd.add_option("--keep", keep, "Checkpoints kept (the newest)")
      ->capture_default_str()
      ->check(integer_in(1, std::numeric_limits<int>::max()));
  cmd.add_option("--stop-after", stop_after,
                 "Checkpoint and stop once this many steps are done in total (time-boxed jobs; exit code 3)")
      ->check(integer_in(0, kMax));
  cmd.add_option("--init-weights", init_weights, "Start from this weights file (convoy export) instead of random weights");
  cmd.add_option("--resume", resume, "auto (newest valid checkpoint in --checkpoint-dir, if any) or a checkpoint file");
  preprocessing.add_to(cmd);
}

void TrainOptions::validate() const {
  // Single values were checked while parsing; what is left spans options. A usage error too.
  try {
    CONVOY_CHECK(resume != "auto" || !checkpoint_dir.empty(), ConfigError, "--resume auto needs --checkpoint-dir");
    // The library's own checks name no flags; the one that spans options is made here.
    CONVOY_CHECK(!nesterov || optimizer_config().momentum > 0.0f, ConfigError, "--nesterov needs --momentum > 0");
    optimizer_config().validate();
    schedule().validate();
  } catch (const ConfigError& e) {
    throw CLI::ValidationError(e.what());
  }
}

bool TrainOptions::progress_bar() const {
  return progress == "bar" || (progress == "auto" && stdout_is_terminal());
}

OptimizerConfig TrainOptions::optimizer_config() const {
  OptimizerConfig c;
  c.type = optimizer;
  c.momentum = optimizer == "sgd" ? static_cast<float>(momentum) : 0.0f;
  c.nesterov = nesterov;
  c.weight_decay = static_cast<float>(weight_decay);
  return c;
}

LrSchedule TrainOptions::schedule() const {
  return {.base_lr = static_cast<float>(lr), .step_epochs = lr_step, .gamma = static_cast<float>(lr_gamma)};
}

TrainerConfig TrainOptions::trainer_config() const {
  TrainerConfig c;
  c.epochs = epochs;
  c.global_batch = batch;
  c.seed = seed;
  c.threads = threads > 0 ? threads : default_threads();
  c.log_every = log_every > 0 ? log_every : (progress_bar() ? 20 : 100);
  c.bucket_bytes = bucket_kib * 1024;
  c.reduction = parse_reduction(reduction);
  c.checkpoint_every = checkpoint_every;
  c.stop_after = stop_after;
  return c;
}

SettingsTable TrainOptions::collective_settings() const {
  const TrainerConfig c = trainer_config();
  const auto text = [](const auto& value) { return nlohmann::json(value).dump(); };
  SettingsTable table = {{"--model", model},
          {"--data", data},
          {"--test", test},
          {"--classes", text(classes)},
          {"--epochs", text(epochs)},
          {"--batch", text(batch)},
          {"--seed", text(seed)},
          {"--optimizer", optimizer},
          {"--lr", text(lr)},
          {"--momentum", text(momentum)},
          {"--nesterov", text(nesterov)},
          {"--weight-decay", text(weight_decay)},
          {"--lr-step", text(lr_step)},
          {"--lr-gamma", text(lr_gamma)},
          {"--reduction", reduction},
          {"--bucket-kib", text(bucket_kib)},
          {"--log-every", text(c.log_every)},  // the default depends on the terminal
          {"--checkpoint-dir", checkpoint_dir},
          {"--checkpoint-every", text(checkpoint_every)},
          {"--stop-after", text(stop_after)},
          {"--resume", resume},
          {"--init-weights", init_weights}};
  preprocessing.add_settings(table);
  return table;
}

std::string TrainOptions::to_json() const {
  return nlohmann::json{{"model", model},     {"data", data},         {"test", test},         {"epochs", epochs},
                        {"batch", batch},     {"optimizer", optimizer}, {"lr", lr},           {"momentum", momentum},
                        {"nesterov", nesterov}, {"weight_decay", weight_decay}, {"lr_step", lr_step},
                        {"lr_gamma", lr_gamma}, {"seed", seed},       {"checkpoint_every", checkpoint_every},
                        {"reduction", reduction}, {"normalize", preprocessing.normalize},
                        {"augment", preprocessing.augmentation().str()}}
      .dump();
}

}  // namespace convoy
