// Preemption signals: SIGUSR1 (Slurm's --signal), SIGTERM and SIGINT ask training to stop.
#pragma once

#include <atomic>
#include <string>

namespace convoy {

// Note [Preemption]
// The first signal records its number; the trainer checks it at every step boundary, all ranks
// agree (a tiny all-reduce, which also names the lowest rank that was signalled), rank 0 writes
// a checkpoint and convoy exits with kExitPreempted, or kExitStoppedUnsaved without
// --checkpoint-dir. A second SIGINT or SIGTERM exits at once (128 + signal) without touching any
// checkpoint: the temporary file of an interrupted write is never renamed over the last good one.
// A repeated SIGUSR1 is still the one request to checkpoint (schedulers deliver it more than once).
// The handlers are installed first thing in main for `convoy train`, and the signals unblocked
// (a parent may have blocked them), so a signal during start-up stops after the first step
// instead of killing the process.
// Open MPI's mpirun forwards SIGUSR1/SIGUSR2 to every rank; SIGTERM to mpirun becomes a kill
// after a short grace period, so SIGUSR1 is the reliable preemption signal.
void install_stop_signal_handlers();

// The number of the first stop signal received, 0 while none (the trainer reads it).
const std::atomic<int>& stop_requested();

// The signal that set the flag, 0 if none.
int stop_signal();

// "SIGUSR1" for 10: what the stop message names.
std::string signal_name(int signum);

}  // namespace convoy
