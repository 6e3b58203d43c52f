// The mpirun prefix the end-to-end tests start the convoy binary with.
#pragma once

#include <string>

namespace convoy::testing {

#ifdef CONVOY_MPIEXEC
// "<mpirun> -np R ... ": more ranks than cores (--oversubscribe), as root in containers, unbound
// so the ranks share whatever cores the machine has, one OpenMP thread a rank.
inline std::string mpirun(int ranks) {
  return std::string(CONVOY_MPIEXEC) + " -np " + std::to_string(ranks) +
         " --oversubscribe --allow-run-as-root --bind-to none -x OMP_NUM_THREADS=1 ";
}
#endif

}  // namespace convoy::testing
