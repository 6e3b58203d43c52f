#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "tests/mpi/mpi_world.hpp"

namespace convoy {
namespace {

using testing::world;

TEST(MpiCommunicator, AllreduceSumsAndMaxMatchClosedForms) {
  Communicator& comm = world();
  const int p = comm.size(), r = comm.rank();
  std::vector<float> f(1001);
  std::vector<double> d(7);
  std::vector<int64_t> i(3), m(2);
  for (size_t k = 0; k < f.size(); ++k) f[k] = static_cast<float>(r + 1) * static_cast<float>(k % 13);
  for (size_t k = 0; k < d.size(); ++k) d[k] = 0.5 * r + static_cast<double>(k);
  for (size_t k = 0; k < i.size(); ++k) i[k] = (int64_t{1} << 40) + r;  // beyond 32 bits
  m = {r, -r};
  comm.allreduce_sum(f.data(), static_cast<int64_t>(f.size()));
  comm.allreduce_sum(d.data(), static_cast<int64_t>(d.size()));
  comm.allreduce_sum(i.data(), static_cast<int64_t>(i.size()));
  comm.allreduce_max(m.data(), 2);
  const double rank_sum = p * (p + 1) / 2.0;  // sum over ranks of r + 1
  for (size_t k = 0; k < f.size(); ++k) ASSERT_FLOAT_EQ(f[k], static_cast<float>(rank_sum * (k % 13))) << k;
  for (size_t k = 0; k < d.size(); ++k) ASSERT_DOUBLE_EQ(d[k], 0.5 * p * (p - 1) / 2.0 + p * static_cast<double>(k));
  for (int64_t v : i) ASSERT_EQ(v, p * (int64_t{1} << 40) + p * (p - 1) / 2);
  EXPECT_EQ(m[0], p - 1);
  EXPECT_EQ(m[1], 0);
}

TEST(MpiCommunicator, IallreduceCompletesThroughTestAndWait) {
  Communicator& comm = world();
  std::vector<float> a(333), b(10000);
  for (size_t k = 0; k < a.size(); ++k) a[k] = static_cast<float>(comm.rank() * 1000 + static_cast<int>(k));
  for (float& v : b) v = 1.0f;
  auto first = comm.iallreduce_sum(a.data(), static_cast<int64_t>(a.size()));
  auto second = comm.iallreduce_sum(b.data(), static_cast<int64_t>(b.size()));
  // Polling alone must finish it: test() drives progress.
  while (!first->test()) {
  }
  EXPECT_TRUE(first->test());  // stays complete
  second->wait();
  second->wait();  // waiting twice is harmless
  const int p = comm.size();
  for (size_t k = 0; k < a.size(); ++k)
    ASSERT_EQ(a[k], static_cast<float>(1000 * p * (p - 1) / 2 + p * static_cast<int>(k))) << k;
  for (float v : b) ASSERT_EQ(v, static_cast<float>(p));
}

TEST(MpiCommunicator, BroadcastFromEveryRoot) {
  Communicator& comm = world();
  for (int root = 0; root < comm.size(); ++root) {
    std::vector<char> bytes(1000, static_cast<char>(comm.rank()));
    comm.broadcast(bytes.data(), static_cast<int64_t>(bytes.size()), root);
    for (char c : bytes) ASSERT_EQ(c, static_cast<char>(root)) << "root " << root;
  }
}

TEST(MpiCommunicator, ErrorsThrowCommErrorNamingTheOperation) {
  Communicator& comm = world();
  char byte = 0;
  // An invalid root fails MPI's argument check identically on every rank, so no rank hangs.
  try {
    comm.broadcast(&byte, 1, comm.size());
    FAIL() << "expected a CommError";
  } catch (const CommError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("MPI_Bcast failed on rank " + std::to_string(comm.rank())), std::string::npos) << message;
    EXPECT_NE(message.find("root"), std::string::npos) << message;  // MPI's own error string
  }
  // The communicator still works afterwards.
  int64_t one = 1;
  comm.allreduce_sum(&one, 1);
  EXPECT_EQ(one, comm.size());
}

TEST(MpiCommunicator, KnowsItsPlace) {
  Communicator& comm = world();
  EXPECT_GE(comm.size(), 2);  // registered for 2, 3 and 4 ranks
  EXPECT_FALSE(comm.host().empty());
  int64_t ranks[2] = {comm.rank(), -comm.rank()};
  comm.allreduce_max(ranks, 2);
  EXPECT_EQ(ranks[0], comm.size() - 1);  // ranks are 0..P-1
  EXPECT_EQ(ranks[1], 0);
  comm.barrier();
}

}  // namespace
}  // namespace convoy
