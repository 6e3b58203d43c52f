#include "distributed/make_communicator.hpp"

#include <cstdlib>

#include "distributed/local_communicator.hpp"
#ifdef CONVOY_WITH_MPI
#include "distributed/mpi_communicator.hpp"
#endif

namespace convoy {

bool launched_by_mpirun() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr ||
         std::getenv("PMI_RANK") != nullptr;
}

std::unique_ptr<Communicator> make_communicator(int* argc, char*** argv) {
#ifdef CONVOY_WITH_MPI
  if (launched_by_mpirun()) return std::make_unique<MpiCommunicator>(argc, argv);
#endif
  return std::make_unique<LocalCommunicator>();
}

}  // namespace convoy
