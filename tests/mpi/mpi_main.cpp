// Main of the MPI test executables: every rank runs the tests; the job fails if any rank fails.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "distributed/mpi_communicator.hpp"
#include "tests/mpi/mpi_world.hpp"

namespace convoy::testing {
namespace {

MpiCommunicator* g_world = nullptr;

// On ranks other than 0 (whose usual printer is removed, so the output is read once), prints
// each failure with the rank in front so it is not lost.
class RankFailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit RankFailurePrinter(int rank) : rank_(rank) {}
  // Kept from OnTestStart: UnitTest::current_test_info() would deadlock inside OnTestPartResult.
  void OnTestStart(const ::testing::TestInfo& test) override {
    test_ = std::string(test.test_suite_name()) + "." + test.name();
  }
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s: %s:%d: failure\n%s\n", rank_, test_.c_str(),
                 result.file_name() ? result.file_name() : "?", result.line_number(), result.summary());
    std::fflush(stderr);
  }

 private:
  int rank_;
  std::string test_ = "(outside a test)";
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
  const bool failed_here = RUN_ALL_TESTS() != 0;
  // Every rank learns whether any failed (the lowest failing rank as a MAX of -rank, and how
  // many), so all return non-zero together: mpirun must not report a job where only rank 0 passed.
  int64_t first_failed = failed_here ? -comm.rank() : -comm.size();  // max of -rank = min rank
  int64_t failures = failed_here ? 1 : 0;
  comm.allreduce_max(&first_failed, 1);
  comm.allreduce_sum(&failures, 1);
  if (comm.rank() == 0) {
    if (failures == 0)
      std::printf("passed on all %d ranks\n", comm.size());
    else
      std::printf("FAILED on %lld of %d ranks (first: rank %lld)\n", static_cast<long long>(failures), comm.size(),
                  static_cast<long long>(-first_failed));
    std::fflush(stdout);
  }
  return failures == 0 ? 0 : 1;
}
