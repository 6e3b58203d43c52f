#include "io/checkpoint_directory.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>

#include "core/error.hpp"
#include "io/checkpoint.hpp"

namespace convoy {
namespace {

namespace fs = std::filesystem;

struct StepFile {
  int64_t step;
  std::string path;
};

// The step of "step-<N>.ckpt", or nullopt for any other name (temp files start with a dot).
std::optional<int64_t> parse_step(const std::string& filename) {
  constexpr std::string_view prefix = "step-", suffix = ".ckpt";
  if (filename.size() <= prefix.size() + suffix.size() || !filename.starts_with(prefix) ||
      !filename.ends_with(suffix))
    return std::nullopt;
  const char* first = filename.data() + prefix.size();
  const char* last = filename.data() + filename.size() - suffix.size();
  int64_t step = 0;
  const auto [end, err] = std::from_chars(first, last, step);
  if (err != std::errc() || end != last || step < 0) return std::nullopt;
  return step;
}

// Checkpoint files in `dir`, newest (highest step) first; empty if `dir` does not exist.
std::vector<StepFile> list_checkpoints(const std::string& dir) {
  std::vector<StepFile> files;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return files;
  fs::directory_iterator it(dir, ec);
  CONVOY_CHECK(!ec, IoError, "cannot list checkpoint folder '", dir, "': ", ec.message());
  for (const auto& entry : it) {
    const auto step = parse_step(entry.path().filename().string());
    // Only regular files: reading a FIFO of that name would block.
    if (step && entry.is_regular_file(ec)) files.push_back({*step, entry.path().string()});
  }
  std::sort(files.begin(), files.end(), [](const StepFile& a, const StepFile& b) { return a.step > b.step; });
  return files;
}

}  // namespace

std::string checkpoint_path(const std::string& dir, int64_t step) {
  CONVOY_ASSERT(step >= 0, "checkpoint step must be >= 0, found ", step);
  return (fs::path(dir) / ("step-" + std::to_string(step) + ".ckpt")).string();
}

std::optional<FoundCheckpoint> find_latest_checkpoint(const std::string& dir) {
  const auto files = list_checkpoints(dir);
  if (files.empty()) return std::nullopt;
  std::vector<std::string> warnings;
  for (const auto& file : files) {
    try {
      TrainingState state = read_checkpoint(file.path);
      return FoundCheckpoint{file.path, std::move(state), std::move(warnings)};
    } catch (const IoError& e) {
      warnings.push_back(detail::concat("skipped: ", e.what()));
    }
  }
  std::string all;
  for (const auto& w : warnings) all += (all.empty() ? "" : "; ") + w;
  throw IoError(detail::concat("checkpoint folder '", dir, "' holds ", files.size(),
                               " checkpoints but none verifies: ", all));
}

void prune_checkpoints(const std::string& dir, int keep) {
  CONVOY_ASSERT(keep >= 1, "checkpoints to keep must be >= 1, found ", keep);
  const auto files = list_checkpoints(dir);
  int valid = 0;
  size_t i = 0;
  for (; i < files.size() && valid < keep; ++i) {
    try {
      verify_checkpoint(files[i].path);
      ++valid;
    } catch (const IoError&) {
      // Left in place: it may be the only trace of what went wrong.
    }
  }
  if (valid < keep) return;  // fewer valid checkpoints than wanted: remove nothing
  for (; i < files.size(); ++i) {
    std::error_code ec;
    fs::remove(files[i].path, ec);
    CONVOY_CHECK(!ec, IoError, "cannot remove old checkpoint '", files[i].path, "': ", ec.message());
  }
}

}  // namespace convoy
