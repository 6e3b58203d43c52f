#include "core/kernels/tree_sum.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/tensor.hpp"
#include "tests/core/gradient_check.hpp"
#include "tests/core/kernels/kernel_test_support.hpp"

namespace convoy {
namespace {

// The tree of Note [Fixed summation tree] stated recursively: the first 2^k partials (the
// largest power of two below count) form a complete subtree, the rest the right subtree.
float naive_tree(const std::vector<float>& v, size_t begin, size_t end) {
  if (end - begin == 1) return v[begin];
  size_t half = 1;
  while (2 * half < end - begin) half *= 2;
  return naive_tree(v, begin, begin + half) + naive_tree(v, begin + half, end);
}

// count partials of n floats at stride n + 3, with values of mixed magnitude so that every
// grouping gives other bits.
Tensor make_partials(int64_t count, int64_t n, int64_t stride, uint64_t seed) {
  Tensor t(Shape{count, stride});
  testing::fill_uniform(t, seed, -1.0f, 1.0f);
  for (int64_t i = 0; i < count; ++i)
    for (int64_t j = 0; j < n; ++j) t[i * stride + j] *= (i % 3 == 0 ? 1e4f : 1.0f);
  return t;
}

// On every ISA: the per-ISA copies only widen the vectors.
TEST(TreeSum, MatchesTheNaivePairwiseTreeBitwise) {
  testing::for_each_isa([](Isa) {
    for (const int64_t count : {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 16, 31, 33}) {
      const int64_t n = 2500, stride = n + 3;  // more than one block of columns
      Tensor partials = make_partials(count, n, stride, static_cast<uint64_t>(count));
      std::vector<float> out(n, 0.5f), expected(n);
      for (int64_t j = 0; j < n; ++j) {
        std::vector<float> column(count);
        for (int64_t i = 0; i < count; ++i) column[i] = partials[i * stride + j];
        expected[j] = 0.5f + naive_tree(column, 0, column.size());
      }
      tree_sum(partials.data(), count, n, stride, out.data());
      EXPECT_EQ(0, std::memcmp(out.data(), expected.data(), n * sizeof(float))) << count << " partials";
    }
  });
}

TEST(TreeSum, InPlaceLeavesTheSumInTheFirstPartial) {
  // 7 partials: ((0+1)+(2+3)) + ((4+5)+6).
  Tensor partials = make_partials(7, 5, 5, 3);
  std::vector<float> expected(5);
  for (int64_t j = 0; j < 5; ++j) {
    const auto p = [&](int64_t i) { return partials[i * 5 + j]; };
    expected[j] = ((p(0) + p(1)) + (p(2) + p(3))) + ((p(4) + p(5)) + p(6));
  }
  tree_sum_in_place(partials.data(), 7, 5, 5);
  EXPECT_EQ(0, std::memcmp(partials.data(), expected.data(), 5 * sizeof(float)));
}

// The property data parallelism rests on: a power-of-two block of partials summed on its own is
// a subtree, so summing the blocks' sums in the tree gives the bits of the whole tree.
TEST(TreeSum, AlignedPowerOfTwoBlocksAreSubtrees) {
  const int64_t count = 16, n = 300;
  for (const int64_t blocks : {2, 4, 8}) {
    Tensor whole = make_partials(count, n, n, 11);
    Tensor split = make_partials(count, n, n, 11);
    const int64_t per_block = count / blocks;
    Tensor block_sums(Shape{blocks, n});  // zeros
    for (int64_t b = 0; b < blocks; ++b)
      tree_sum(split.data() + b * per_block * n, per_block, n, n, block_sums.data() + b * n);
    std::vector<float> expected(n, 0.0f), got(n, 0.0f);
    tree_sum(whole.data(), count, n, n, expected.data());
    tree_sum(block_sums.data(), blocks, n, n, got.data());
    EXPECT_EQ(0, std::memcmp(got.data(), expected.data(), n * sizeof(float))) << blocks << " blocks";
  }
}

TEST(TreeSum, DiffersFromSequentialOrder) {
  // Guards the tests above against a tree_sum that degenerated into a running sum.
  std::vector<float> v = {1e8f, 1.0f, -1e8f, 1.0f}, out = {0.0f};
  tree_sum(v.data(), 4, 1, 1, out.data());
  EXPECT_EQ(out[0], 0.0f);  // (1e8 + 1) + (-1e8 + 1); in order: 1
}

}  // namespace
}  // namespace convoy
