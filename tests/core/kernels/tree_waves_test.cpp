#include "core/kernels/tree_waves.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "core/kernels/tree_sum.hpp"
#include "core/tensor.hpp"
#include "tests/core/gradient_check.hpp"
#include "tests/core/kernels/kernel_test_support.hpp"

namespace convoy {
namespace {

// count leaves of n floats, of mixed magnitude so that every grouping gives other bits.
Tensor make_leaves(int64_t count, int64_t n, uint64_t seed) {
  Tensor t(Shape{count, n});
  testing::fill_uniform(t, seed, -1.0f, 1.0f);
  for (int64_t i = 0; i < count; ++i)
    for (int64_t j = 0; j < n; ++j) t[i * n + j] *= (i % 3 == 0 ? 1e4f : 1.0f);
  return t;
}

// The leaves written wave by wave into the plan's slots, the columns split among `parts` as
// threads split them.
std::vector<float> sum_in_waves(const Tensor& leaves, int64_t count, int64_t n, int64_t width, int parts) {
  const TreeWaves plan = plan_tree_waves(count, width);
  std::vector<float> slots(plan.slots * n, std::nanf(""));
  for (const TreeWave& wave : plan.waves) {
    for (size_t i = 0; i < wave.slots.size(); ++i)
      std::memcpy(slots.data() + wave.slots[i] * n, leaves.data() + (wave.first + i) * n, n * sizeof(float));
    for (int p = 0; p < parts; ++p) run_tree_adds(slots.data(), n, wave.adds, n * p / parts, n * (p + 1) / parts);
  }
  return {slots.begin() + plan.root * n, slots.begin() + (plan.root + 1) * n};
}

TEST(TreeWaves, GiveTheBitsOfTheWholeTreeAtEveryWidth) {
  testing::for_each_isa([](Isa) {
    const int64_t n = 2100;  // more than two blocks of columns
    for (const int64_t count : {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 31, 33}) {
      const Tensor leaves = make_leaves(count, n, static_cast<uint64_t>(count));
      Tensor whole = make_leaves(count, n, static_cast<uint64_t>(count));
      tree_sum_in_place(whole.data(), count, n, n);
      for (const int64_t width : {1, 2, 4, 8, 16, 64})
        for (const int parts : {1, 3}) {
          const std::vector<float> got = sum_in_waves(leaves, count, n, width, parts);
          EXPECT_EQ(0, std::memcmp(got.data(), whole.data(), n * sizeof(float)))
              << count << " leaves, waves of " << width << ", " << parts << " column parts";
        }
    }
  });
}

TEST(TreeWaves, HoldAWavePlusOneRootPerBitOfTheLeavesBefore) {
  EXPECT_EQ(4, plan_tree_waves(8, 1).slots);
  EXPECT_EQ(4, plan_tree_waves(8, 2).slots);
  EXPECT_EQ(5, plan_tree_waves(8, 4).slots);
  EXPECT_EQ(8, plan_tree_waves(8, 8).slots);
  EXPECT_EQ(8, plan_tree_waves(8, 16).slots);
  EXPECT_EQ(5, plan_tree_waves(16, 2).slots);  // batch 128 on 2 threads
  EXPECT_EQ(1, plan_tree_waves(1, 2).slots);
  // 7 leaves two at a time, ((0+1)+(2+3)) + ((4+5)+6): the root of 0..3 and a wave of two.
  const TreeWaves seven = plan_tree_waves(7, 2);
  EXPECT_EQ(4u, seven.waves.size());
  EXPECT_EQ(3, seven.slots);
  EXPECT_EQ(2u, seven.waves.back().adds.size());  // (4+5) += 6, then (0..3) += (4..6)
}

}  // namespace
}  // namespace convoy
