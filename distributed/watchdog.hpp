// StallWatchdog: a deadline on waiting for a collective, so ranks whose peer froze end the job.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace convoy {

// Note [Stall watchdog]
// A rank that stops without dying (SIGSTOP, a hung file system, a host that froze with its
// link up) leaves the others in a collective forever: no error comes, the TCP connections
// stay up, and every waiting rank spins a core. MPI is initialised for the main thread only,
// so no helper thread may call MPI: every collective is started non-blocking and the main
// thread polls it (MPI_Test), looking at the clock between polls. When the deadline passes,
// wait() throws CommError naming the operation, how long it waited and what the caller was
// doing (set_activity); main prints it with the rank and MPI_Abort ends the job.
//
// The deadline: CONVOY_STALL_TIMEOUT seconds if set (0 turns the watchdog off), else
// max(20 s, 10 x the longest this rank has computed between two collectives), so it grows
// with step time and evaluation passes. What it cannot tell from a stall: a peer busy outside
// collectives for longer than that, such as rank 0 writing a huge checkpoint to a slow file
// system while the others wait in the next step (raise CONVOY_STALL_TIMEOUT there).
class StallWatchdog {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr double kFloorSeconds = 20.0;
  static constexpr double kGapFactor = 10.0;
  static constexpr double kAutomatic = -1.0;

  // fixed_seconds > 0: that deadline; 0: never; kAutomatic: the rule above (tests may lower
  // its floor).
  explicit StallWatchdog(double fixed_seconds = kAutomatic, double floor_seconds = kFloorSeconds)
      : fixed_seconds_(fixed_seconds), floor_seconds_(floor_seconds) {}
  // From the environment variable CONVOY_STALL_TIMEOUT (automatic when unset). Throws
  // ConfigError for a value that is not a number of seconds >= 0.
  static StallWatchdog from_environment();

  // Calls done() until it returns true (done() drives the operation's progress). Throws
  // CommError naming `operation` if the deadline passes first; done()'s exceptions pass through.
  void wait(const std::string& operation, const std::function<bool()>& done);

  // The deadline of a wait starting now (0: none).
  double deadline_seconds() const;
  // What the caller is doing ("training, epoch 2 step 40"), for the stall message.
  void set_activity(std::string activity) { activity_ = std::move(activity); }
  // The training step being computed, -1 outside steps: named in the stall message.
  void set_step(int64_t step) { step_ = step; }

 private:
  double fixed_seconds_;
  double floor_seconds_;
  double longest_gap_ = 0;  // seconds from one wait's end to the next one's start
  bool waited_ = false;
  Clock::time_point last_done_{};
  int64_t waits_ = 0;
  std::string activity_;
  int64_t step_ = -1;
};

}  // namespace convoy
