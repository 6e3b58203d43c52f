#include <gtest/gtest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "distributed/sampler.hpp"
#include "tests/mpi/mpi_world.hpp"

namespace convoy {
namespace {

using testing::world;

TEST(SamplerMpi, EverySampleOncePerEpochAcrossRanks) {
  Communicator& comm = world();
  // (samples, global batch): uneven last batches, one batch, a batch smaller than the world.
  for (const auto& [n, batch] : {std::pair<int64_t, int64_t>{1001, 64}, {64, 64}, {10, 3}, {7, 7}, {3, 2}}) {
    Sampler sampler(n, batch, 11, true, false);
    for (int64_t epoch = 0; epoch < 2; ++epoch) {
      std::vector<int64_t> seen(n, 0);
      int64_t steps = 0;
      for (int64_t b = 0; b < sampler.batches_per_epoch(); ++b, ++steps)
        for (int64_t i : sampler.rank_slice(epoch, b, comm.rank(), comm.size())) ++seen[i];
      comm.allreduce_sum(seen.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(seen[i], 1) << "sample " << i << " of " << n << ", batch " << batch << ", epoch " << epoch;
      // Every rank takes the same number of steps, with or without samples (collectives match).
      int64_t most = steps, fewest = -steps;
      comm.allreduce_max(&most, 1);
      comm.allreduce_max(&fewest, 1);
      EXPECT_EQ(most, -fewest);
    }
  }
}

}  // namespace
}  // namespace convoy
