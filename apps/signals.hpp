// Preemption signals: SIGUSR1 (Slurm's --signal), SIGTERM and SIGINT ask training to stop.
#pragma once

#include <atomic>

namespace convoy {

// Note [Preemption]
// The first signal sets a flag; the trainer checks it at every step boundary, all ranks agree
// (a tiny all-reduce), rank 0 writes a checkpoint and convoy exits with kExitPreempted. A second
// signal exits at once (128 + signal) without touching any checkpoint: the temporary file of
// an interrupted write is never renamed over the last good one.
// Open MPI's mpirun forwards SIGUSR1/SIGUSR2 to every rank; SIGTERM to mpirun becomes a kill
// after a short grace period, so SIGUSR1 is the reliable preemption signal.
void install_stop_signal_handlers();

// The flag the handlers set (the trainer reads it).
const std::atomic<bool>& stop_requested();

// The signal that set the flag, 0 if none.
int stop_signal();

}  // namespace convoy
