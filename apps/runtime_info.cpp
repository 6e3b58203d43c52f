#include "apps/runtime_info.hpp"

#include <sched.h>
#include <unistd.h>

#include <cstdio>
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

ResidentMemory resident_memory() {
  ResidentMemory m;
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return m;
  char line[256];
  long long kib = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "VmRSS: %lld kB", &kib) == 1) m.bytes = kib * 1024;
    if (std::sscanf(line, "VmHWM: %lld kB", &kib) == 1) m.peak_bytes = kib * 1024;
  }
  std::fclose(f);
  return m;
}

std::string memory_line(const ResidentMemory& before, const ResidentMemory& after) {
  if (before.bytes < 0 || after.peak_bytes < 0) return "memory: not reported by this system";
  constexpr double kMB = 1e6;
  char text[128];
  std::snprintf(text, sizeof text, "memory: peak %.0f MB resident, %.0f MB before the model was built",
                static_cast<double>(after.peak_bytes) / kMB, static_cast<double>(before.bytes) / kMB);
  return text;
}

}  // namespace convoy
