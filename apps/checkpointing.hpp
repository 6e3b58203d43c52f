// CheckpointKeeper: convoy train's saving and resuming of the whole training state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/batch_reader.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "distributed/communicator.hpp"
#include "distributed/trainer.hpp"
#include "io/run_folder.hpp"
#include "io/training_state.hpp"

namespace convoy {

// A hash of the training data's size, sample shape, classes, class names and content hash,
// stored in checkpoints so a resume on another dataset of the same size is refused.
uint64_t dataset_fingerprint(const DatasetInfo& data);

struct CheckpointRun {
  std::string dir;                // where step-<N>.ckpt files go; empty: no checkpoints
  int keep = 3;                   // newest checkpoints kept
  std::string settings_json;      // the command line's settings, stored for inspect
  std::string schedule_json;      // the schedule's settings (Trainer::schedule_json(false)), compared on resume
  uint64_t seed = 0;
  int64_t global_batch = 0;
  // Note [Preprocessing record]; resuming refuses another normalisation or augmentation.
  std::string preprocessing_json;
};

// Rank 0 writes (atomically, see io/atomic_file.hpp) into a folder it checked writable, holds
// locked and cleared of dead temporaries at construction; every rank calls save() and restore() at
// the same points. Resuming, rank 0 reads and verifies the checkpoint and broadcasts it, so the
// other ranks need no access to the file and every counter is restored on every rank.
class CheckpointKeeper {
 public:
  CheckpointKeeper(Communicator& comm, CheckpointRun run, Model& model, Optimizer& optimizer, const DatasetInfo& data);

  // Writes step-<global_step>.ckpt (rank 0) unless that step is already saved; prunes to keep.
  // schedule_json: Trainer::schedule_json(true), the schedule with its state.
  void save(const TrainingCursor& cursor, const std::vector<std::string>& metrics_history,
            const std::string& schedule_json);
  // Writes best.ckpt (rank 0), replacing the last one atomically; pruning never removes it.
  void save_best(const TrainingCursor& cursor, const std::vector<std::string>& metrics_history,
                 const std::string& schedule_json);

  // resume: "" (start fresh), "auto" (newest step-<N>.ckpt in dir that verifies, or fresh if
  // none) or a path. Refuses (ConfigError) a checkpoint of another model, global batch,
  // dataset, seed, optimizer or schedule. Returns where training continues; `history` gets the
  // metrics so far and `schedule_json` the checkpoint's schedule with its state ("" if fresh).
  TrainingCursor restore(const std::string& resume, std::vector<std::string>& history, std::string& schedule_json);

  const std::string& last_path() const { return last_path_; }
  const std::string& best_path() const { return best_path_; }

 private:
  // Rank 0: the state to write; ConfigError if any of it is not finite (training diverged).
  TrainingState snapshot(const TrainingCursor& cursor, const std::vector<std::string>& metrics_history,
                         const std::string& schedule_json) const;
  // Rank 0: reads the checkpoint `resume` names into s and returns its path ("" when auto finds none).
  std::string read_resume_checkpoint(const std::string& resume, TrainingState& s) const;
  // Rank 0: refuses a checkpoint of another global batch, dataset, seed or optimizer.
  void check_resumable(const TrainingState& s, const std::string& path) const;
  // Collective: rank 0's counters, parameters and optimizer state into every rank's model and optimizer.
  TrainingCursor load_broadcast(TrainingState& s);

  Communicator& comm_;
  CheckpointRun run_;
  Model& model_;
  Optimizer& optimizer_;
  DatasetInfo data_;
  std::optional<FolderLock> lock_;  // rank 0, while the run lives: Note [Run folder lock]
  int64_t last_saved_step_ = -1;
  std::string last_path_, best_path_;
};

// "<dir>/best.ckpt".
std::string best_checkpoint_path(const std::string& dir);

}  // namespace convoy
