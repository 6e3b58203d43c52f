// A folder of step-<N>.ckpt files: naming, finding the newest that verifies, pruning old ones.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/training_state.hpp"

namespace convoy {

// "<dir>/step-<N>.ckpt". Files are ordered by the number, not by name.
std::string checkpoint_path(const std::string& dir, int64_t step);

struct FoundCheckpoint {
  std::string path;
  TrainingState state;
  std::vector<std::string> warnings;  // one per newer checkpoint that did not verify, with why
};

// The checkpoint with the highest step that fully verifies, or nullopt when `dir` does not
// exist or holds no step-<N>.ckpt file. Newer files that fail verification are skipped with a
// warning. If there are checkpoints but none verifies, throws IoError listing why each failed:
// silently starting from scratch would lose the run.
std::optional<FoundCheckpoint> find_latest_checkpoint(const std::string& dir);

// Removes all but the newest `keep` (>= 1) checkpoints that verify; files older than the
// keep-th valid one go, valid or not. Files newer than it are left alone even if they do not
// verify (find_latest_checkpoint warns about them), and the newest file is never removed.
// Temporary files of interrupted writes are ignored.
void prune_checkpoints(const std::string& dir, int keep);

}  // namespace convoy
