#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "core/error.hpp"
#include "distributed/agreement.hpp"
#include "distributed/gradient_reducer.hpp"
#include "distributed/sampler.hpp"
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
  for (size_t k = 0; k < d.size(); ++k) d[k] = 0.5 * r + k;
  for (size_t k = 0; k < i.size(); ++k) i[k] = (int64_t{1} << 40) + r;
  m = {r, -r};
  comm.allreduce_sum(f.data(), static_cast<int64_t>(f.size()));
  comm.allreduce_sum(d.data(), static_cast<int64_t>(d.size()));
  comm.allreduce_sum(i.data(), static_cast<int64_t>(i.size()));
  comm.allreduce_max(m.data(), 2);
  const double rank_sum = p * (p + 1) / 2.0;  // sum of r + 1
  for (size_t k = 0; k < f.size(); ++k) ASSERT_FLOAT_EQ(f[k], static_cast<float>(rank_sum * (k % 13)));
  for (size_t k = 0; k < d.size(); ++k) ASSERT_DOUBLE_EQ(d[k], 0.5 * p * (p - 1) / 2.0 + p * static_cast<double>(k));
  for (int64_t v : i) ASSERT_EQ(v, p * (int64_t{1} << 40) + p * (p - 1) / 2);
  EXPECT_EQ(m[0], p - 1);
  EXPECT_EQ(m[1], 0);
}

TEST(MpiCommunicator, IallreduceAndBroadcast) {
  Communicator& comm = world();
  std::vector<float> a(333, 1.0f);
  auto request = comm.iallreduce_sum(a.data(), 333);
  request->wait();
  for (float v : a) ASSERT_EQ(v, static_cast<float>(comm.size()));
  std::vector<char> bytes(100, static_cast<char>(comm.rank()));
  comm.broadcast(bytes.data(), 100, comm.size() - 1);
  for (char c : bytes) ASSERT_EQ(c, static_cast<char>(comm.size() - 1));
}

TEST(GradientReducer, BucketedSumsEqualOneBlockingAllreduce) {
  Communicator& comm = world();
  for (const int64_t count : {1, 17, 1000, 4099}) {
    for (const int64_t bucket_bytes : {64, 100, 4096, 1 << 20}) {
      std::vector<float> data(count), expected(count);
      for (int64_t k = 0; k < count; ++k) data[k] = expected[k] = static_cast<float>((k * 7 + comm.rank() * 3) % 11) - 5;
      comm.allreduce_sum(expected.data(), count);
      GradientReducer reducer(comm, data.data(), count, bucket_bytes);
      reducer.begin_step();
      // Backward finishes gradients from the end in uneven steps.
      for (int64_t offset = count; offset > 0; offset -= 1 + offset / 3) reducer.ready_from(offset);
      reducer.finish();
      ASSERT_EQ(data, expected) << "count " << count << ", bucket " << bucket_bytes << " bytes";
    }
  }
}

TEST(Sampler, EverySampleOncePerEpochAcrossRanks) {
  Communicator& comm = world();
  for (const auto& [n, batch] : {std::pair<int64_t, int64_t>{1001, 64}, {64, 64}, {10, 3}, {7, 7}}) {
    Sampler sampler(n, batch, 11, true, false);
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      std::vector<int64_t> seen(n, 0);
      for (int64_t b = 0; b < sampler.batches_per_epoch(); ++b)
        for (int64_t i : sampler.rank_slice(epoch, b, comm.rank(), comm.size())) ++seen[i];
      comm.allreduce_sum(seen.data(), n);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[i], 1) << "sample " << i << " of " << n << ", batch " << batch;
    }
  }
}

TEST(Agreement, DifferingValuesAreCaughtOnEveryRank) {
  Communicator& comm = world();
  EXPECT_NO_THROW(check_same_on_all_ranks(comm, 42, "answer"));
  const uint64_t value = comm.rank() == comm.size() - 1 ? 43 : 42;
  EXPECT_THROW(check_same_on_all_ranks(comm, value, "answer"), ConfigError);
  EXPECT_TRUE(any_rank(comm, comm.rank() == 1));
  EXPECT_FALSE(any_rank(comm, false));
}

}  // namespace
}  // namespace convoy
