// TrainOptions: the command-line settings of convoy train, their defaults and their checks.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "apps/preprocessing_options.hpp"
#include "core/lr_schedule.hpp"
#include "core/optimizer.hpp"
#include "distributed/agreement.hpp"
#include "distributed/trainer.hpp"

namespace convoy {

// Upper bounds of a few options, far above any real use, so derived sizes cannot overflow.
constexpr int64_t kMaxBatch = int64_t{1} << 31;
constexpr int kMaxThreads = 4096;
constexpr int64_t kMaxBucketKib = int64_t{1} << 30;
constexpr int64_t kMaxClasses = int64_t{1} << 24;

struct TrainOptions {
  std::string model = "keras-cnn";  // a built-in name or a JSON model file
  std::string data, test, val, metrics;
  int64_t classes = 0;  // 0: from the model file, else the data's class_names (an error if neither)
  int64_t epochs = 10;
  int64_t batch = 64;  // global, over all ranks
  std::string optimizer = "adam";
  double lr = 1e-3, momentum = 0.9, weight_decay = 0.0, lr_gamma = 0.1;
  int64_t lr_step = 0;
  std::string lr_schedule = "step";  // step, multistep (implied by --lr-milestones), cosine, plateau
  std::vector<int64_t> lr_milestones;
  double min_lr = 0.0;                           // cosine's floor
  int64_t warmup_epochs = 0, warmup_steps = 0;  // Note [Learning-rate warmup]
  int64_t plateau_patience = 10;
  int64_t early_stop = 0;  // patience in epochs; 0: never stop early
  std::string early_stop_metric = "val_loss";  // also what plateau and best.ckpt watch
  double min_delta = 0.0;
  bool nesterov = false;
  int threads = 0;  // 0: default_threads()
  uint64_t seed = 42;
  int64_t log_every = 0;  // 0: 20 on a terminal, 100 otherwise
  std::string progress = "auto";  // auto, bar, lines
  int64_t bucket_kib = 256;
  std::string reduction = "ordered";  // ordered or mpi (Note [Ordered reduction])
  std::string checkpoint_dir, resume;
  std::string init_weights;  // a weights file (convoy export) to start from instead of random weights
  std::vector<std::string> reinit;   // layers that start from the seed instead of --init-weights
  std::vector<std::string> freeze;   // layers the optimizer leaves alone
  std::vector<std::string> lr_mult;  // LAYER=F, the layer's learning rate times F
  int64_t checkpoint_every = 0;  // steps; 0: at the end and on preemption only
  int keep = 3;
  int64_t stop_after = 0;  // steps in total; 0: run to the end
  PreprocessingOptions preprocessing;  // --normalize, --mean, --std, --augment

  // Registers the options with their checks: a bad value is a CLI::ValidationError (exit 2).
  void add_to(CLI::App& cmd);
  // The checks that span options (--resume auto needs --checkpoint-dir, --nesterov needs
  // --momentum > 0): throws CLI::ValidationError naming the options.
  void validate() const;
  bool progress_bar() const;
  OptimizerConfig optimizer_config() const;
  LrSchedule schedule() const;
  // --lr-mult and --freeze (multiplier 0) by layer name; CLI::ValidationError for a bad entry.
  std::map<std::string, float> layer_lr_multipliers() const;
  TrainerConfig trainer_config() const;
  // Every setting that changes what the ranks do together (which collectives, in which order,
  // on what data), as the command line names it: all ranks must agree on these at start.
  SettingsTable collective_settings() const;
  // The settings as JSON, stored in checkpoints for `convoy inspect`.
  std::string to_json() const;
};

}  // namespace convoy
