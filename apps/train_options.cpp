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
  cmd.add_option("--val", val,
                 "Validation set, evaluated after every epoch (val_loss, val_accuracy); best.ckpt, early stopping "
                 "and reduce-on-plateau watch it (files as for --data)");
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
  cmd.add_option("--lr-schedule", lr_schedule,
                 "step (--lr-step, --lr-gamma), multistep (--lr-milestones), cosine (over --epochs, down to "
                 "--min-lr) or plateau (times --lr-gamma after --plateau-patience epochs without improvement)")
      ->capture_default_str()
      ->check(one_of({"step", "multistep", "cosine", "plateau"}));
  cmd.add_option("--lr-milestones", lr_milestones, "Epochs after which the rate is multiplied by --lr-gamma: 8,15")
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->check(integer_in(1, kMax));
  cmd.add_option("--min-lr", min_lr, "The rate cosine annealing ends at")
      ->capture_default_str()
      ->check(number_in(0, true, kHuge, true));
  cmd.add_option("--warmup-epochs", warmup_epochs, "Raise the rate linearly over this many epochs' steps")
      ->check(integer_in(0, kMax));
  cmd.add_option("--warmup-steps", warmup_steps, "Raise the rate linearly over this many steps")
      ->check(integer_in(0, kMax));
  cmd.add_option("--plateau-patience", plateau_patience,
                 "plateau: epochs without improvement of --early-stop-metric before the rate is lowered")
      ->capture_default_str()
      ->check(integer_in(1, kMax));
  cmd.add_option("--early-stop", early_stop,
                 "Stop (exit code 0) when --early-stop-metric has not improved for this many epochs (needs --val)")
      ->check(integer_in(0, kMax));
  cmd.add_option("--early-stop-metric", early_stop_metric,
                 "What early stopping, plateau and best.ckpt watch: val_loss or val_accuracy")
      ->capture_default_str()
      ->check(one_of({"val_loss", "val_accuracy"}));
  cmd.add_option("--min-delta", min_delta, "The smallest change of --early-stop-metric that counts as an improvement")
      ->capture_default_str()
      ->check(number_in(0, true, kHuge, true));
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
  const auto layers = [&cmd](const char* name, std::vector<std::string>& into, const char* help) {
    cmd.add_option(name, into, help)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->delimiter(',');
  };
  layers("--reinit", reinit,
         "Layers that start from --seed instead of --init-weights (may differ in shape: a new classifier)");
  layers("--freeze", freeze, "Layers whose parameters training leaves unchanged");
  layers("--lr-mult", lr_mult, "LAYER=F: that layer learns at F times the rate (repeatable)");
  cmd.add_option("--resume", resume, "auto (newest valid checkpoint in --checkpoint-dir, if any) or a checkpoint file");
  preprocessing.add_to(cmd);
}

void TrainOptions::validate() const {
  // Single values were checked while parsing; what is left spans options. A usage error too.
  try {
    CONVOY_CHECK(resume != "auto" || !checkpoint_dir.empty(), ConfigError, "--resume auto needs --checkpoint-dir");
    // The library's own checks name no flags; the one that spans options is made here.
    CONVOY_CHECK(!nesterov || optimizer_config().momentum > 0.0f, ConfigError, "--nesterov needs --momentum > 0");
    CONVOY_CHECK(!val.empty() || (early_stop == 0 && lr_schedule != "plateau"), ConfigError,
                 early_stop > 0 ? "--early-stop" : "--lr-schedule plateau", " needs --val (it watches ",
                 early_stop_metric, ")");
    CONVOY_CHECK(reinit.empty() || !init_weights.empty(), ConfigError,
                 "--reinit needs --init-weights (without it every layer starts from --seed)");
    CONVOY_CHECK(lr_step == 0 || lr_schedule == "step", ConfigError, "--lr-step ", lr_step,
                 " is the step schedule's, not --lr-schedule ", lr_schedule, "'s");
    CONVOY_CHECK(lr_milestones.empty() || lr_schedule == "step" || lr_schedule == "multistep", ConfigError,
                 "--lr-milestones are the multistep schedule's, not --lr-schedule ", lr_schedule, "'s");
    CONVOY_CHECK(lr_schedule != "multistep" || !lr_milestones.empty(), ConfigError,
                 "--lr-schedule multistep needs --lr-milestones");
    CONVOY_CHECK(warmup_epochs == 0 || warmup_steps == 0, ConfigError,
                 "--warmup-epochs and --warmup-steps: give one of them");
    CONVOY_CHECK(min_lr == 0.0 || lr_schedule == "cosine", ConfigError, "--min-lr is the cosine schedule's");
    CONVOY_CHECK(min_lr < lr, ConfigError, "--min-lr ", min_lr, ": expected below --lr ", lr);
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
  c.layer_lr_multipliers = layer_lr_multipliers();
  return c;
}

std::map<std::string, float> TrainOptions::layer_lr_multipliers() const {
  std::map<std::string, float> m;
  for (const std::string& entry : lr_mult) {
    const size_t eq = entry.find('=');
    const std::string layer = entry.substr(0, eq);
    float f = -1.0f;
    try {
      size_t used = 0;
      if (eq != std::string::npos) f = std::stof(entry.substr(eq + 1), &used);
      if (used == 0 || eq + 1 + used != entry.size()) f = -1.0f;
    } catch (const std::exception&) {
      f = -1.0f;
    }
    if (layer.empty() || !(f >= 0.0f) || !std::isfinite(f) || m.count(layer))
      throw CLI::ValidationError("--lr-mult '" + entry + "': expected LAYER=F with F a number >= 0, once per layer");
    m[layer] = f;
  }
  for (const std::string& layer : freeze) {
    if (m.count(layer) && m[layer] != 0.0f)
      throw CLI::ValidationError("--freeze " + layer + " and --lr-mult " + layer + "=" + std::to_string(m[layer]) +
                                 ": a frozen layer has no learning rate");
    m[layer] = 0.0f;
  }
  return m;
}

LrSchedule TrainOptions::schedule() const {
  LrSchedule s{.base_lr = static_cast<float>(lr), .step_epochs = lr_step, .gamma = static_cast<float>(lr_gamma)};
  s.policy = parse_lr_policy(lr_schedule == "step" && !lr_milestones.empty() ? "multistep" : lr_schedule);
  s.milestones = lr_milestones;
  if (s.policy == LrPolicy::cosine) {
    s.cosine_epochs = epochs;
    s.min_lr = static_cast<float>(min_lr);
  }
  s.warmup_epochs = warmup_epochs;
  s.warmup_steps = warmup_steps;
  if (s.policy == LrPolicy::plateau)
    s.plateau = {.metric = early_stop_metric, .min_delta = min_delta, .patience = plateau_patience};
  return s;
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
  c.monitor = {.metric = early_stop_metric, .min_delta = min_delta, .patience = early_stop};
  return c;
}

SettingsTable TrainOptions::collective_settings() const {
  const TrainerConfig c = trainer_config();
  const auto text = [](const auto& value) { return nlohmann::json(value).dump(); };
  SettingsTable table = {{"--model", model},
          {"--data", data},
          {"--test", test},
          {"--val", val},
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
          {"--lr-schedule", lr_schedule},
          {"--lr-milestones", text(lr_milestones)},
          {"--min-lr", text(min_lr)},
          {"--warmup-epochs", text(warmup_epochs)},
          {"--warmup-steps", text(warmup_steps)},
          {"--plateau-patience", text(plateau_patience)},
          {"--early-stop", text(early_stop)},
          {"--early-stop-metric", early_stop_metric},
          {"--min-delta", text(min_delta)},
          {"--reduction", reduction},
          {"--bucket-kib", text(bucket_kib)},
          {"--log-every", text(c.log_every)},  // the default depends on the terminal
          {"--checkpoint-dir", checkpoint_dir},
          {"--checkpoint-every", text(checkpoint_every)},
          {"--stop-after", text(stop_after)},
          {"--resume", resume},
          {"--init-weights", init_weights},
          {"--reinit", text(reinit)},
          {"--freeze", text(freeze)},
          {"--lr-mult", text(lr_mult)}};
  preprocessing.add_settings(table);
  return table;
}

std::string TrainOptions::to_json() const {
  nlohmann::json j{{"model", model},     {"data", data},         {"test", test},         {"epochs", epochs},
                   {"batch", batch},     {"optimizer", optimizer}, {"lr", lr},           {"momentum", momentum},
                   {"nesterov", nesterov}, {"weight_decay", weight_decay}, {"lr_step", lr_step},
                   {"lr_gamma", lr_gamma}, {"seed", seed},       {"checkpoint_every", checkpoint_every},
                   {"reduction", reduction}, {"normalize", preprocessing.normalize},
                   {"augment", preprocessing.augmentation().str()}};
  // Newer settings only when given, as convoy inspect shows them.
  if (!val.empty()) j["val"] = val;
  if (!init_weights.empty()) j["init_weights"] = init_weights;
  if (!reinit.empty()) j["reinit"] = reinit;
  return j.dump();
}

}  // namespace convoy
