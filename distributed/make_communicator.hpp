// make_communicator: MPI when started by mpirun (and built with MPI), else the world of one.
#pragma once

#include <memory>

#include "distributed/communicator.hpp"

namespace convoy {

// Called once by main. Open MPI's singleton start (no mpirun) is slow and buys nothing, so MPI
// is initialised only when the launcher's environment says this is one rank of a job; a build
// without MPI always returns the world of one. argc/argv go to MPI_Init_thread (may be null).
std::unique_ptr<Communicator> make_communicator(int* argc = nullptr, char*** argv = nullptr);

// True when a launcher started this process as a rank of a job: Open MPI's mpirun sets
// OMPI_COMM_WORLD_SIZE, PMIx launchers (mpirun, srun --mpi=pmix) PMIX_RANK, PMI-2 ones PMI_RANK.
bool launched_by_mpirun();

}  // namespace convoy
