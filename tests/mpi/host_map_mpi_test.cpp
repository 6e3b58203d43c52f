#include <gtest/gtest.h>

#include "distributed/host_map.hpp"
#include "tests/mpi/mpi_world.hpp"

namespace convoy {
namespace {

using testing::world;

// Every rank gets every rank's name in rank order (the same on all ranks: check by hashing).
TEST(HostMapMpi, GatherHostNamesGivesEachRanksName) {
  Communicator& comm = world();
  const std::vector<std::string> names = gather_host_names(comm);
  ASSERT_EQ(static_cast<int>(names.size()), comm.size());
  EXPECT_EQ(names[comm.rank()], comm.host());
  std::vector<int64_t> lengths(names.size()), summed(names.size());
  for (size_t r = 0; r < names.size(); ++r) lengths[r] = summed[r] = static_cast<int64_t>(names[r].size());
  comm.allreduce_sum(summed.data(), static_cast<int64_t>(summed.size()));
  for (size_t r = 0; r < names.size(); ++r) EXPECT_EQ(summed[r], comm.size() * lengths[r]) << "rank " << r;
}

}  // namespace
}  // namespace convoy
