#include "apps/checkpointing.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "apps/preprocessing_record.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "distributed/agreement.hpp"
#include "distributed/broadcast.hpp"
#include "io/checkpoint.hpp"
#include "io/checkpoint_directory.hpp"
#include "io/regular_file.hpp"
#include "io/run_folder.hpp"

namespace convoy {
namespace {

// "step-<N>.ckpt", the names checkpoint_path gives, and "best.ckpt".
bool is_checkpoint_name(const std::string& name) {
  return name == "best.ckpt" || std::regex_match(name, std::regex(R"(step-[0-9]+\.ckpt)"));
}

// A setting as the command line wrote it: floats (stored as float32) with %g, not 0.8999999761581421.
std::string setting_text(const nlohmann::json& v) {
  if (!v.is_number_float()) return v.dump();
  char text[32];
  std::snprintf(text, sizeof text, "%g", v.get<double>());
  return text;
}

// The keys whose values differ, as " key: saved -> now" for each; a key only one side has
// shows "(none)" on the other. "state" (a schedule's position, not a setting) is not compared.
std::string changed_settings(const nlohmann::json& saved, const nlohmann::json& now) {
  std::string out;
  const auto text = [](const nlohmann::json& j, const std::string& key) {
    return j.contains(key) ? setting_text(j.at(key)) : std::string("(none)");
  };
  for (const auto& [key, value] : now.items())
    if (key != "state" && (!saved.contains(key) || saved.at(key) != value))
      out += " " + key + ": " + text(saved, key) + " -> " + setting_text(value);
  for (const auto& [key, value] : saved.items())
    if (key != "state" && !now.contains(key)) out += " " + key + ": " + setting_text(value) + " -> (none)";
  return out;
}

}  // namespace

uint64_t dataset_fingerprint(const DatasetInfo& data) {
  uint64_t h = fnv1a(&data.size, sizeof data.size);
  h = fnv1a(data.sample.str(), h);
  h = fnv1a(&data.classes, sizeof data.classes, h);
  for (const std::string& name : data.class_names) h = fnv1a(name + '\n', h);
  return fnv1a(&data.content_hash, sizeof data.content_hash, h);
}

std::string best_checkpoint_path(const std::string& dir) { return (std::filesystem::path(dir) / "best.ckpt").string(); }

CheckpointKeeper::CheckpointKeeper(Communicator& comm, CheckpointRun run, Model& model, Optimizer& optimizer,
                                   const DatasetInfo& data)
    : comm_(comm), run_(std::move(run)), model_(model), optimizer_(optimizer), data_(data) {
  if (run_.dir.empty()) return;
  // Rank 0 writes; every rank learns whether it can, before any step is trained.
  run_on_all_ranks(comm_, "preparing --checkpoint-dir", [this] {
    if (comm_.rank() != 0) return;
    try {
      prepare_writable_folder(run_.dir);
      lock_.emplace(run_.dir);
    } catch (const IoError& e) {
      throw IoError(std::string("--checkpoint-dir: ") + e.what());
    }
    // Under the lock no live writer owns a checkpoint temporary: they are left by killed writes.
    for (const std::string& path : remove_stale_temporaries(run_.dir, is_checkpoint_name))
      std::printf("removed %s (the temporary file of an interrupted checkpoint write)\n", path.c_str());
  });
}

void CheckpointKeeper::save(const TrainingCursor& cursor, const std::vector<std::string>& metrics_history,
                            const std::string& schedule_json) {
  if (run_.dir.empty() || cursor.global_step == last_saved_step_) return;
  last_saved_step_ = cursor.global_step;
  if (comm_.rank() != 0) return;
  const TrainingState s = snapshot(cursor, metrics_history, schedule_json);
  last_path_ = checkpoint_path(run_.dir, cursor.global_step);
  write_checkpoint(last_path_, s);
  prune_checkpoints(run_.dir, run_.keep);
}

void CheckpointKeeper::save_best(const TrainingCursor& cursor, const std::vector<std::string>& metrics_history,
                                 const std::string& schedule_json) {
  if (run_.dir.empty() || comm_.rank() != 0) return;
  const TrainingState s = snapshot(cursor, metrics_history, schedule_json);
  best_path_ = best_checkpoint_path(run_.dir);
  write_checkpoint(best_path_, s);
}

TrainingState CheckpointKeeper::snapshot(const TrainingCursor& cursor, const std::vector<std::string>& metrics_history,
                                         const std::string& schedule_json) const {
  // A diverged state must never replace (or, through pruning, push out) a good checkpoint.
  const float* p = model_.parameters();
  const auto bad = std::find_if(p, p + model_.parameter_count(), [](float v) { return !std::isfinite(v); });
  CONVOY_CHECK(bad == p + model_.parameter_count(), ConfigError, "not writing the checkpoint of step ",
               cursor.global_step, ": parameter ", bad - p, " is ", *bad, " (training diverged); ",
               last_path_.empty() ? std::string("this run wrote none before") : "the last good one is " + last_path_);
  const float* buffers = model_.buffers();
  CONVOY_CHECK(std::all_of(buffers, buffers + model_.buffer_count(), [](float v) { return std::isfinite(v); }),
               ConfigError, "not writing the checkpoint of step ", cursor.global_step,
               ": the model's buffers (running statistics) are not finite (training diverged)");
  for (const OptimizerBuffer& b : optimizer_.state()) {
    const bool finite = std::all_of(b.values.begin(), b.values.end(), [](float v) { return std::isfinite(v); });
    CONVOY_CHECK(finite, ConfigError, "not writing the checkpoint of step ", cursor.global_step, ": optimizer state '",
                 b.name, "' is not finite (training diverged)");
  }
  TrainingState s;
  s.model_spec_json = model_.spec().to_json().dump();
  s.model_fingerprint = model_.fingerprint();
  s.parameters.assign(model_.parameters(), model_.parameters() + model_.parameter_count());
  s.buffers.assign(model_.buffers(), model_.buffers() + model_.buffer_count());
  s.optimizer_json = optimizer_.config().to_json().dump();
  for (const OptimizerBuffer& b : optimizer_.state()) s.optimizer_buffers.emplace_back(b.name, b.values);
  s.optimizer_step = optimizer_.steps();
  s.schedule_json = schedule_json;
  s.epoch = cursor.epoch;
  s.step = cursor.global_step;
  s.batch_in_epoch = cursor.batch_in_epoch;
  s.seed = run_.seed;
  s.world_size = comm_.size();
  s.global_batch = run_.global_batch;
  s.dataset_size = data_.size;
  s.dataset_fingerprint = dataset_fingerprint(data_);
  // What eval and predict need besides the model (Note [Preprocessing record]).
  s.preprocessing_json = run_.preprocessing_json;
  for (int i = 0; i < data_.sample.rank(); ++i) s.sample_shape.push_back(data_.sample[i]);
  s.metrics_history = metrics_history;
  s.settings_json = run_.settings_json;
  return s;
}

TrainingCursor CheckpointKeeper::restore(const std::string& resume, std::vector<std::string>& history,
                                         std::string& schedule_json) {
  if (resume.empty()) return {};
  // Rank 0 decides and reads; the others learn the outcome from broadcasts. A refusal on rank 0
  // (a missing or corrupt file, another dataset) is thrown on every rank, not only on rank 0
  // while the others wait in the broadcast below.
  TrainingState s;
  std::string path;
  int64_t found = 0;
  run_on_all_ranks(comm_, "reading the checkpoint to resume from", [&] {
    if (comm_.rank() != 0) return;
    path = read_resume_checkpoint(resume, s);
    found = path.empty() ? 0 : 1;
    if (found) check_resumable(s, path);
  });
  comm_.broadcast(&found, sizeof found, 0);
  if (!found) return {};
  const TrainingCursor cursor = load_broadcast(s);
  history = s.metrics_history;
  schedule_json = s.schedule_json;
  last_saved_step_ = cursor.global_step;
  // The run goes on, so does its best checkpoint (the monitor's state says how good it was).
  if (!run_.dir.empty() && std::filesystem::exists(best_checkpoint_path(run_.dir)))
    best_path_ = best_checkpoint_path(run_.dir);
  if (comm_.rank() == 0)
    std::printf("resume: %s (epoch %lld, batch %lld of the epoch, step %lld, written by %d rank%s)\n", path.c_str(),
                static_cast<long long>(cursor.epoch + 1), static_cast<long long>(cursor.batch_in_epoch),
                static_cast<long long>(cursor.global_step), s.world_size, s.world_size == 1 ? "" : "s");
  return cursor;
}

std::string CheckpointKeeper::read_resume_checkpoint(const std::string& resume, TrainingState& s) const {
  if (resume != "auto") {
    require_regular_file(resume, "--resume");
    s = read_checkpoint(resume, model_.fingerprint());
    return resume;
  }
  CONVOY_CHECK(!run_.dir.empty(), ConfigError, "--resume auto needs --checkpoint-dir");
  auto latest = find_latest_checkpoint(run_.dir);
  if (!latest) {
    std::printf("resume: no checkpoint in %s, starting from the beginning\n", run_.dir.c_str());
    return "";
  }
  for (const std::string& w : latest->warnings) std::fprintf(stderr, "convoy: warning: %s\n", w.c_str());
  s = std::move(latest->state);
  CONVOY_CHECK(s.model_fingerprint == model_.fingerprint(), ConfigError, "--resume: checkpoint '", latest->path,
               "' is of another model (fingerprint differs)");
  return latest->path;
}

namespace {

// A JSON text a checkpoint recorded (its checksum verified): a parse error names the checkpoint
// and the record instead of reaching main as the library's bare exception.
nlohmann::json recorded_json(const std::string& text, const char* what, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw IoError("checkpoint '" + path + "': its recorded " + what + " are not JSON (" + e.what() + ")");
  }
}

}  // namespace

void CheckpointKeeper::check_resumable(const TrainingState& s, const std::string& path) const {
  CONVOY_CHECK(s.global_batch == run_.global_batch, ConfigError, "--resume: checkpoint '", path,
               "' was trained with global batch ", s.global_batch, ", this run asks for ", run_.global_batch);
  CONVOY_CHECK(s.dataset_size == data_.size, ConfigError, "--resume: checkpoint '", path, "' was trained on ",
               s.dataset_size, " samples, --data has ", data_.size);
  CONVOY_CHECK(s.seed == run_.seed, ConfigError, "--resume: checkpoint '", path, "' was trained with --seed ", s.seed,
               ", this run has ", run_.seed, " (the sample order would change)");
  // Format 1 recorded no fingerprint (0): those checkpoints are checked by size alone.
  CONVOY_CHECK(s.dataset_fingerprint == 0 || s.dataset_fingerprint == dataset_fingerprint(data_), ConfigError,
               "--resume: checkpoint '", path, "' was trained on another dataset of ", s.dataset_size,
               " samples (its labels, classes or sample shape differ from --data's)");
  const nlohmann::json saved_optimizer = recorded_json(s.optimizer_json, "optimizer settings", path);
  const OptimizerConfig saved = OptimizerConfig::from_json(saved_optimizer);
  CONVOY_CHECK(saved.type == optimizer_.config().type, ConfigError, "--resume: checkpoint '", path,
               "' was trained with --optimizer ", saved.type, ", this run asks for ", optimizer_.config().type);
  const std::string changed =
      changed_settings(saved_optimizer, optimizer_.config().to_json()) +
      changed_settings(recorded_json(s.schedule_json, "schedule settings", path),
                       nlohmann::json::parse(run_.schedule_json));
  CONVOY_CHECK(changed.empty(), ConfigError, "--resume: checkpoint '", path,
               "' was trained with other optimizer or schedule settings:", changed,
               " (start a new run, or resume with the checkpoint's settings)");
  const PreprocessingRecord saved_prep = PreprocessingRecord::parse(s.preprocessing_json, path);
  const PreprocessingRecord now_prep = PreprocessingRecord::parse(run_.preprocessing_json, path);
  const bool same_prep = saved_prep.normalization.mean == now_prep.normalization.mean &&
                         saved_prep.normalization.std == now_prep.normalization.std &&
                         saved_prep.augmentation.str() == now_prep.augmentation.str();
  CONVOY_CHECK(same_prep, ConfigError, "--resume: checkpoint '", path, "' was trained with ",
               describe_preprocessing(saved_prep.normalization, saved_prep.augmentation), ", this run has ",
               describe_preprocessing(now_prep.normalization, now_prep.augmentation),
               " (give the checkpoint's --normalize, --mean, --std and --augment, or start a new run)");
  CONVOY_CHECK(static_cast<int64_t>(s.parameters.size()) == model_.parameter_count(), IoError, "checkpoint '", path,
               "': ", s.parameters.size(), " parameters, the model has ", model_.parameter_count());
  CONVOY_CHECK(static_cast<int64_t>(s.buffers.size()) == model_.buffer_count(), IoError, "checkpoint '", path,
               "': ", s.buffers.size(), " buffer values (running statistics), the model has ", model_.buffer_count());
}

TrainingCursor CheckpointKeeper::load_broadcast(TrainingState& s) {
  int64_t counters[4] = {s.epoch, s.batch_in_epoch, s.step, s.optimizer_step};
  comm_.broadcast(counters, sizeof counters, 0);
  s.schedule_json = broadcast_string(comm_, s.schedule_json, 0);
  broadcast_floats(comm_, s.parameters, 0);
  std::copy(s.parameters.begin(), s.parameters.end(), model_.parameters());
  broadcast_floats(comm_, s.buffers, 0);
  std::copy(s.buffers.begin(), s.buffers.end(), model_.buffers());
  int64_t buffers = static_cast<int64_t>(s.optimizer_buffers.size());
  comm_.broadcast(&buffers, sizeof buffers, 0);
  s.optimizer_buffers.resize(buffers);
  std::vector<OptimizerBuffer> state;
  for (auto& [name, values] : s.optimizer_buffers) {
    name = broadcast_string(comm_, name, 0);
    broadcast_floats(comm_, values, 0);
    state.push_back({name, values});
  }
  optimizer_.restore(counters[3], state);
  return {counters[0], counters[1], counters[2]};
}

}  // namespace convoy
