// ProgressReporter: prints training progress (a bar on a terminal, plain lines otherwise) and
// writes the metrics file as JSON lines. Only rank 0 gets one.
#pragma once

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "distributed/training_observer.hpp"

namespace convoy {

class ProgressReporter final : public TrainingObserver {
 public:
  // interactive: redraw one line with a bar (stdout is a terminal); otherwise one line per report.
  // metrics_path: JSON lines file, appended to; empty for none.
  // history: the epoch and test lines of earlier runs this one resumes.
  ProgressReporter(std::FILE* out, bool interactive, int64_t epochs, int64_t global_batch,
                   const std::string& metrics_path, std::vector<std::string> history = {});

  void on_step(const StepReport& r) override;
  void on_epoch(const EpochReport& r) override;
  // Appends one JSON object as a line of the metrics file (e.g. the final test result).
  void write_metrics(const std::string& json_line);
  // The epoch and test lines so far (checkpoints keep them).
  const std::vector<std::string>& history() const { return history_; }

 private:
  std::FILE* out_;
  bool interactive_;
  int64_t epochs_, global_batch_;
  std::ofstream metrics_;
  std::vector<std::string> history_;
};

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

}  // namespace convoy
