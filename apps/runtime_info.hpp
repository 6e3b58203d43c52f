// What this process may use: cores (affinity), default thread count, whether output is a terminal.
#pragma once

#include <string>

namespace convoy {

// Cores this process may run on (sched_getaffinity): mpirun binding can make it 1.
int available_cores();

// --threads default: OMP_NUM_THREADS if set, else the available cores.
int default_threads();

// A start-up line: rank, host, threads and cores, with a warning when threads exceed cores.
std::string startup_line(int rank, int size, const std::string& host, int threads);

bool stdout_is_terminal();

}  // namespace convoy
