// make_communicator: MPI when started by mpirun (and built with MPI), else the world of one.
#pragma once

#include <memory>

#include "distributed/communicator.hpp"

namespace convoy {

// Open MPI's singleton start (no mpirun) is slow and buys nothing, so MPI is initialised only
// when the launcher's environment says this is one rank of a job.
std::unique_ptr<Communicator> make_communicator(int* argc, char*** argv);

bool launched_by_mpirun();

}  // namespace convoy
