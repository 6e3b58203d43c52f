// A job in which rank 1 fails while the others wait in a collective: run by CTest to prove the
// job ends quickly with a non-zero exit code instead of hanging (Note [Failing ranks]).
//   rank_failure_probe abort   main catches the error and calls abort(), as convoy's main does
//   rank_failure_probe unwind  the error unwinds past the communicator, whose destructor aborts
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>

#include "core/error.hpp"
#include "distributed/make_communicator.hpp"

namespace {

constexpr int kNotUnderMpi = 9;  // make_communicator did not see mpirun
constexpr int kFailed = 3;

void work(convoy::Communicator& comm) {
  if (comm.size() < 2) std::exit(kNotUnderMpi);
  if (comm.rank() == 1) throw convoy::IoError("probe: rank 1 fails on purpose");
  // Rank 1 never joins: without an abort the other ranks would wait here forever.
  int64_t value = 1;
  comm.allreduce_sum(&value, 1);
}

}  // namespace

int main(int argc, char** argv) {
  const bool unwind = argc > 1 && std::strcmp(argv[1], "unwind") == 0;
  if (unwind) {
    try {
      std::unique_ptr<convoy::Communicator> comm = convoy::make_communicator(&argc, &argv);
      work(*comm);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "probe: caught after the communicator was gone: %s\n", e.what());
      return kFailed;
    }
    return 0;
  }
  std::unique_ptr<convoy::Communicator> comm = convoy::make_communicator(&argc, &argv);
  try {
    work(*comm);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "probe: error on rank %d (%s): %s\n", comm->rank(), comm->host().c_str(), e.what());
    std::fflush(stderr);
    comm->abort(kFailed);
  }
  return 0;
}
