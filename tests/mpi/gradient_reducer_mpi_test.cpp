#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "core/kernels/tree_sum.hpp"
#include "distributed/gradient_reducer.hpp"
#include "tests/mpi/mpi_world.hpp"

namespace convoy {
namespace {

using testing::world;

// Rank- and step-dependent values whose sums are exact in float.
float gradient(int64_t k, int rank, int step) { return static_cast<float>((k * 7 + rank * 3 + step) % 11) - 5.0f; }

TEST(GradientReducerMpi, BucketedSumsEqualOneBlockingAllreduce) {
  Communicator& comm = world();
  // Odd sizes; buckets dividing nothing, of one cache line, and larger than the whole buffer.
  for (const int64_t count : {1, 17, 1000, 4099}) {
    for (const int64_t bucket_bytes : {64, 100, 4096, 1 << 20}) {
      std::vector<float> data(count), expected(count);
      GradientReducer reducer(comm, data.data(), count, bucket_bytes);
      for (int step = 0; step < 2; ++step) {  // the reducer is reused step after step
        for (int64_t k = 0; k < count; ++k) data[k] = expected[k] = gradient(k, comm.rank(), step);
        comm.allreduce_sum(expected.data(), count);
        reducer.begin_step();
        // Backward finishes gradients from the end, layer by layer: uneven decreasing offsets.
        for (int64_t offset = count; offset > 0; offset -= 1 + offset / 3) reducer.ready_from(offset);
        reducer.finish();
        ASSERT_EQ(data, expected) << "count " << count << ", bucket " << bucket_bytes << " bytes, step " << step;
        EXPECT_GE(reducer.last_wait_seconds(), 0.0);
      }
    }
  }
}

TEST(GradientReducerMpi, FinishAloneReducesEverything) {
  Communicator& comm = world();
  std::vector<float> data(3001, static_cast<float>(comm.rank() + 1));
  GradientReducer reducer(comm, data.data(), static_cast<int64_t>(data.size()), 1024);
  EXPECT_EQ(reducer.bucket_count(), 12);  // 256 floats a bucket
  reducer.begin_step();
  reducer.finish();
  const float expected = static_cast<float>(comm.size() * (comm.size() + 1) / 2);
  for (float v : data) ASSERT_EQ(v, expected);
}

// Note [Ordered reduction]: with values whose sums round, every element is the fixed tree's sum
// of the ranks' values, rank 0's first, whichever rank summed its segment.
TEST(GradientReducerMpi, OrderedSumsAreTheTreeSumsOfTheRanks) {
  Communicator& comm = world();
  const int ranks = comm.size();
  const auto value = [](int64_t k, int rank) { return 1.0f / static_cast<float>(3 + (k * 13 + rank * 7) % 29); };
  for (const int64_t count : {5, 33, 1000, 4099}) {
    for (const int64_t bucket_bytes : {64, 4096}) {
      std::vector<float> data(count), expected(count), rows(ranks);
      for (int64_t k = 0; k < count; ++k) {
        data[k] = value(k, comm.rank());
        for (int r = 0; r < ranks; ++r) rows[r] = value(k, r);
        tree_sum_in_place(rows.data(), ranks, 1, 1);
        expected[k] = rows[0];
      }
      GradientReducer reducer(comm, data.data(), count, bucket_bytes, Reduction::ordered);
      reducer.begin_step();
      for (int64_t offset = count; offset > 0; offset -= 1 + offset / 5) reducer.ready_from(offset);
      reducer.finish();
      for (int64_t k = 0; k < count; ++k)
        ASSERT_EQ(std::memcmp(&data[k], &expected[k], sizeof(float)), 0)
            << "element " << k << " of " << count << ": " << data[k] << " vs " << expected[k];
    }
  }
}

}  // namespace
}  // namespace convoy
