#include "distributed/sampler.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <tuple>
#include <vector>

#include "core/error.hpp"

namespace convoy {
namespace {

// The whole epoch's order, batch after batch.
std::vector<int64_t> epoch_order(Sampler& sampler, int64_t epoch) {
  std::vector<int64_t> order;
  for (int64_t b = 0; b < sampler.batches_per_epoch(); ++b) {
    const std::vector<int64_t> batch = sampler.global_batch(epoch, b);
    order.insert(order.end(), batch.begin(), batch.end());
  }
  return order;
}

bool is_permutation_of_range(std::vector<int64_t> order, int64_t n) {
  std::sort(order.begin(), order.end());
  std::vector<int64_t> range(n);
  std::iota(range.begin(), range.end(), int64_t{0});
  return order == range;
}

TEST(Sampler, EachEpochIsAPermutation) {
  Sampler sampler(1001, 64, 7, true, false);
  EXPECT_EQ(sampler.batches_per_epoch(), 16);  // 15 full batches and one of 41
  EXPECT_EQ(sampler.global_batch_size(0), 64);
  EXPECT_EQ(sampler.global_batch_size(15), 1001 - 15 * 64);
  for (int64_t epoch : {0, 1, 5}) EXPECT_TRUE(is_permutation_of_range(epoch_order(sampler, epoch), 1001)) << epoch;
}

TEST(Sampler, OrderDependsOnlyOnSeedAndEpoch) {
  Sampler a(500, 32, 7, true, false), b(500, 32, 7, true, false), other_seed(500, 32, 8, true, false);
  const std::vector<int64_t> a0 = epoch_order(a, 0), a1 = epoch_order(a, 1);
  EXPECT_NE(a0, a1);
  EXPECT_NE(a0, epoch_order(other_seed, 0));
  // Same (seed, epoch) in another sampler, and after visiting other epochs (the cache).
  EXPECT_EQ(epoch_order(b, 1), a1);
  EXPECT_EQ(epoch_order(b, 0), a0);
  EXPECT_EQ(epoch_order(a, 0), a0);
  std::vector<int64_t> identity(500);
  std::iota(identity.begin(), identity.end(), int64_t{0});
  EXPECT_NE(a0, identity);
  // The global batch size does not change the order, only where it is cut.
  Sampler wide(500, 100, 7, true, false);
  EXPECT_EQ(epoch_order(wide, 1), a1);
}

TEST(Sampler, ShuffleOffKeepsFileOrder) {
  Sampler sampler(10, 4, 7, false, false);
  EXPECT_EQ(sampler.global_batch(3, 0), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(sampler.global_batch(3, 2), (std::vector<int64_t>{8, 9}));
}

TEST(Sampler, DropLastSkipsThePartialBatch) {
  Sampler keep(1001, 64, 7, true, false), drop(1001, 64, 7, true, true);
  EXPECT_EQ(drop.batches_per_epoch(), 15);
  for (int64_t b = 0; b < drop.batches_per_epoch(); ++b) {
    EXPECT_EQ(drop.global_batch_size(b), 64);
    EXPECT_EQ(drop.global_batch(2, b), keep.global_batch(2, b));
  }
  EXPECT_EQ(Sampler(128, 64, 7, true, true).batches_per_epoch(), 2);
}

TEST(Sampler, RejectsBadSizes) {
  EXPECT_THROW(Sampler(100, 0, 7, true, false), ConfigError);
  EXPECT_THROW(Sampler(0, 8, 7, true, false), ConfigError);
  EXPECT_THROW(Sampler(5, 8, 7, true, true), ConfigError);  // drop_last would leave no step
  Sampler small(5, 8, 7, true, false);                      // one short batch is fine
  EXPECT_EQ(small.batches_per_epoch(), 1);
  EXPECT_EQ(small.global_batch_size(0), 5);
}

// (dataset size, global batch, ranks)
class SamplerSlices : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int>> {};

TEST_P(SamplerSlices, RankSlicesTileEveryGlobalBatch) {
  const auto [n, batch, world] = GetParam();
  Sampler sampler(n, batch, 3, true, false);
  for (int64_t epoch : {0, 1}) {
    for (int64_t b = 0; b < sampler.batches_per_epoch(); ++b) {
      const std::vector<int64_t> global = sampler.global_batch(epoch, b);
      const int64_t size = static_cast<int64_t>(global.size());
      std::vector<int64_t> joined;
      for (int r = 0; r < world; ++r) {
        const std::vector<int64_t> slice = sampler.rank_slice(epoch, b, r, world);
        ASSERT_EQ(sampler.rank_offset(b, r, world), static_cast<int64_t>(joined.size())) << "rank " << r;
        ASSERT_EQ(sampler.rank_count(b, r, world), static_cast<int64_t>(slice.size())) << "rank " << r;
        // As even as possible, the first (size mod world) ranks taking one more.
        ASSERT_EQ(static_cast<int64_t>(slice.size()), size / world + (r < size % world ? 1 : 0))
            << "rank " << r << " of " << world << ", batch " << b << " of " << size;
        joined.insert(joined.end(), slice.begin(), slice.end());
      }
      ASSERT_EQ(joined, global) << "epoch " << epoch << ", batch " << b;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(UnevenCases, SamplerSlices,
                         ::testing::Values(std::tuple<int64_t, int64_t, int>{1001, 64, 3},
                                           std::tuple<int64_t, int64_t, int>{1001, 64, 4},
                                           std::tuple<int64_t, int64_t, int>{60, 60, 7},
                                           std::tuple<int64_t, int64_t, int>{10, 3, 4},   // batch < ranks
                                           std::tuple<int64_t, int64_t, int>{65, 64, 2},  // last batch of 1
                                           std::tuple<int64_t, int64_t, int>{7, 7, 1}));

TEST(Sampler, TinyLastBatchLeavesSomeRanksEmpty) {
  Sampler sampler(65, 64, 3, true, false);  // the last global batch holds one sample
  EXPECT_EQ(sampler.rank_slice(0, 1, 0, 4).size(), 1u);
  for (int r = 1; r < 4; ++r) {
    EXPECT_TRUE(sampler.rank_slice(0, 1, r, 4).empty()) << r;
    EXPECT_EQ(sampler.rank_offset(1, r, 4), 1) << r;
  }
}

TEST(Sampler, ChangingTheWorldSizeKeepsEachStepsSamples) {
  Sampler sampler(1001, 64, 9, true, false);
  for (int64_t b = 0; b < sampler.batches_per_epoch(); ++b) {
    std::vector<int64_t> by_three;
    for (int r = 0; r < 3; ++r) {
      const std::vector<int64_t> slice = sampler.rank_slice(4, b, r, 3);
      by_three.insert(by_three.end(), slice.begin(), slice.end());
    }
    ASSERT_EQ(by_three, sampler.rank_slice(4, b, 0, 1)) << "batch " << b;
  }
}

}  // namespace
}  // namespace convoy
