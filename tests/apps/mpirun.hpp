// The mpirun prefix the end-to-end tests start the convoy binary with.
#pragma once

#include <string>

namespace convoy::testing {

#ifdef CONVOY_MPIEXEC
// "<mpirun> -np R ... ": more ranks than cores, as root in containers, unbound so the ranks
// share whatever cores the machine has, one OpenMP thread a rank (the options are the MPI
// implementation's, cmake/mpi_launcher.cmake).
inline std::string mpirun(int ranks) {
  return std::string(CONVOY_MPIEXEC) + " -np " + std::to_string(ranks) + " " CONVOY_MPIRUN_ONE_THREAD " ";
}
#endif

}  // namespace convoy::testing
