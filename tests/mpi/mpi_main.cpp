// Main of the MPI test executable: every rank runs the tests; the job fails if any rank fails.
#include <gtest/gtest.h>

#include <cstdio>

#include "distributed/mpi_communicator.hpp"
#include "tests/mpi/mpi_world.hpp"

namespace convoy::testing {
namespace {

MpiCommunicator* g_world = nullptr;

// Prints failures of ranks other than 0 with the rank in front, so they are not lost.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (result.failed())
      std::fprintf(stderr, "[rank %d] %s:%d: %s\n", rank_, result.file_name() ? result.file_name() : "?",
                   result.line_number(), result.summary());
  }

 private:
  int rank_;
};

}  // namespace

Communicator& world() { return *g_world; }

}  // namespace convoy::testing

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  convoy::MpiCommunicator comm(&argc, &argv);
  convoy::testing::g_world = &comm;
  auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
  if (comm.rank() != 0) {
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new convoy::testing::RankFailurePrinter(comm.rank()));
  }
  int64_t failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  // A main returning rank 0's result alone would hide failures on the other ranks.
  comm.allreduce_max(&failed, 1);
  if (comm.rank() == 0)
    std::printf("%s on all %d ranks\n", failed ? "FAILED" : "passed", comm.size());
  return failed ? 1 : 0;
}
