#include "apps/runtime_info.hpp"

#include <sched.h>
#include <unistd.h>

#include <cstdlib>

namespace convoy {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return CPU_COUNT(&set);
}

int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS")) {
    const int n = std::atoi(env);
    if (n > 0) return n;
  }
  return available_cores();
}

std::string startup_line(int rank, int size, const std::string& host, int threads) {
  const int cores = available_cores();
  std::string line = "rank " + std::to_string(rank) + "/" + std::to_string(size) + " on " + host + ": " +
                     std::to_string(threads) + " thread" + (threads == 1 ? "" : "s") + ", " + std::to_string(cores) +
                     " core" + (cores == 1 ? "" : "s") + " available";
  if (threads > cores)
    line += " (warning: more threads than cores; under mpirun use --bind-to none or --map-by slot:PE=" +
            std::to_string(threads) + ")";
  return line;
}

bool stdout_is_terminal() { return isatty(STDOUT_FILENO) == 1; }

}  // namespace convoy
