// The MPI communicator of the running test job (set up by mpi_main.cpp).
#pragma once

#include "distributed/communicator.hpp"

namespace convoy::testing {

Communicator& world();

}  // namespace convoy::testing
