// The per-epoch curves of a metrics file (JSON lines from convoy train --metrics), for convoy plot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace convoy {

// One epoch's line: {"type": "epoch", "epoch", "train_loss", "train_accuracy", and "test_loss",
// "test_accuracy" / "val_loss", "val_accuracy" when that set was evaluated}.
struct EpochPoint {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, train_accuracy = 0;
  std::optional<double> test_loss, test_accuracy, val_loss, val_accuracy;
};

// The epoch lines of `path` in epoch order; when an epoch appears twice (a run resumed from a
// checkpoint written before the epoch ended, appending to the same file) the later line wins.
// Step, test and other lines are skipped. IoError naming the file (and the line) when it cannot
// be read, a line is not JSON, or it holds no epoch line.
std::vector<EpochPoint> read_epoch_curves(const std::string& path);

}  // namespace convoy
