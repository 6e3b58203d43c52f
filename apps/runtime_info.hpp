// What this process may use and uses: cores (affinity), default thread count, whether output is a
// terminal, resident memory.
#pragma once

#include <cstdint>
#include <string>

namespace convoy {

// Cores this process may run on (sched_getaffinity): mpirun binding can make it 1.
int available_cores();

// --threads default: OMP_NUM_THREADS if set, else the available cores.
int default_threads();

// A start-up line: rank, host, threads and cores, with a warning when threads exceed cores.
std::string startup_line(int rank, int size, const std::string& host, int threads);

bool stdout_is_terminal();

// This process's resident memory now and at its peak (VmRSS and VmHWM of /proc/self/status), or
// -1 where the system does not say.
struct ResidentMemory {
  int64_t bytes = -1, peak_bytes = -1;
};
ResidentMemory resident_memory();

// "memory: peak 750 MB resident, 250 MB before the model was built" from the figures with the
// data loaded and after training: the difference is what the model and its training need.
std::string memory_line(const ResidentMemory& before, const ResidentMemory& after);

}  // namespace convoy
