#include "distributed/watchdog.hpp"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "core/error.hpp"

namespace convoy {
namespace {

constexpr const char* kVariable = "CONVOY_STALL_TIMEOUT";

double seconds_between(StallWatchdog::Clock::time_point a, StallWatchdog::Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

StallWatchdog StallWatchdog::from_environment() {
  const char* text = std::getenv(kVariable);
  if (text == nullptr || *text == '\0') return StallWatchdog();
  char* end = nullptr;
  const double seconds = std::strtod(text, &end);
  CONVOY_CHECK(*end == '\0' && seconds >= 0 && seconds < 1e9, ConfigError, kVariable, "='", text,
               "': expected seconds >= 0 (0 turns the stall watchdog off)");
  return StallWatchdog(seconds);
}

double StallWatchdog::deadline_seconds() const {
  if (fixed_seconds_ >= 0) return fixed_seconds_;
  return std::max(floor_seconds_, kGapFactor * longest_gap_);
}

void StallWatchdog::wait(const std::string& operation, const std::function<bool()>& done) {
  const Clock::time_point start = Clock::now();
  if (waited_) longest_gap_ = std::max(longest_gap_, seconds_between(last_done_, start));
  ++waits_;
  const double deadline = deadline_seconds();
  // The clock is read every 64 polls: a poll that finds nothing costs well under a microsecond.
  for (int64_t polls = 0; !done(); ++polls) {
    if (deadline <= 0 || polls % 64 != 63) continue;
    const double waited = seconds_between(start, Clock::now());
    CONVOY_CHECK(waited < deadline, CommError, "stalled: waited ", static_cast<int64_t>(waited), " s in ", operation,
                 ", collective ", waits_, " of this rank", step_ >= 0 ? ", in training step " : "",
                 step_ >= 0 ? std::to_string(step_) : "", activity_.empty() ? "" : ", during ", activity_,
                 "; another rank has stopped taking part (frozen, or its host or link is down). The deadline (",
                 deadline, " s) is set by ", kVariable, " (seconds, 0 = off)");
  }
  waited_ = true;
  last_done_ = Clock::now();
}

}  // namespace convoy
