#include "distributed/host_map.hpp"

#include <gtest/gtest.h>

#include "distributed/local_communicator.hpp"

namespace convoy {
namespace {

TEST(HostMap, DescribesRanksPerHostInOrderOfFirstRank) {
  EXPECT_EQ(describe_hosts({"a"}), "1 host: a (rank 0)");
  EXPECT_EQ(describe_hosts({"n1", "n1", "n2", "n2"}), "2 hosts: n1 (ranks 0-1), n2 (ranks 2-3)");
  EXPECT_EQ(describe_hosts({"b", "a", "b", "c"}), "3 hosts: b (ranks 0,2), a (rank 1), c (rank 3)");
  EXPECT_EQ(describe_hosts({"a", "b", "c", "d"}, 2), "4 hosts: a (rank 0), b (rank 1), and 2 more");
}

TEST(HostMap, WorldOfOneGathersItsOwnName) {
  LocalCommunicator comm;
  EXPECT_EQ(gather_host_names(comm), std::vector<std::string>{comm.host()});
}

}  // namespace
}  // namespace convoy
