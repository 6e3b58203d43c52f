#include "core/dense.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/tree_sum.hpp"
#include "tests/core/gradient_check.hpp"

namespace convoy {
namespace {

using testing::BoundLayer;

TEST(Dense, OutputShapeAndBadInput) {
  Dense dense({.units = 7});
  EXPECT_EQ(dense.output_shape(std::vector<Shape>{Shape{5, 3}}), (Shape{5, 7}));
  EXPECT_THROW(dense.output_shape(std::vector<Shape>{Shape{5, 3, 2, 2}}), ShapeError);
  EXPECT_THROW(Dense({.units = 0}), ConfigError);
}

TEST(Dense, ForwardMatchesHandComputedValues) {
  // x = [1, 2]; W = [[1, 2, 3], [4, 5, 6]] ([in, units]); b = [0.5, 0, -1] -> [9.5, 12, 14].
  Dense dense({.units = 3});
  BoundLayer bound(dense, {Shape{1, 2}}, 1, 1);
  for (int i = 0; i < 6; ++i) bound.parameters[0][i] = static_cast<float>(i + 1);
  bound.parameters[1][0] = 0.5f, bound.parameters[1][1] = 0.0f, bound.parameters[1][2] = -1.0f;
  Tensor x(Shape{1, 2}), y(Shape{1, 3});
  x[0] = 1, x[1] = 2;
  dense.forward({&x, 1}, y, bound.context(1));
  EXPECT_FLOAT_EQ(y[0], 9.5f);
  EXPECT_FLOAT_EQ(y[1], 12.0f);
  EXPECT_FLOAT_EQ(y[2], 14.0f);
}

TEST(Dense, GradientsMatchFiniteDifferences) {
  for (const auto& [n, in, units] : {std::tuple{1, 3, 2}, {4, 7, 5}, {3, 33, 17}}) {
    Dense dense({.units = units});
    const std::string failures = testing::check_gradients(dense, {Shape{n, in}});
    EXPECT_TRUE(failures.empty()) << failures;
  }
}

TEST(Dense, OneAndTwoThreadsGiveTheSameBits) {
  Dense one({.units = 19}), two({.units = 19});
  const Shape in{9, 37};
  BoundLayer b1(one, {in}, 1, 2), b2(two, {in}, 2, 2);
  Tensor x(in), y1(b1.output_shape), y2(b1.output_shape), g(b1.output_shape), dx1(in), dx2(in);
  testing::fill_uniform(x, 1);
  testing::fill_uniform(g, 2);
  one.forward({&x, 1}, y1, b1.context(1));
  two.forward({&x, 1}, y2, b2.context(2));
  EXPECT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.numel() * sizeof(float)));
  one.backward({&x, 1}, y1, g, {&dx1, 1}, b1.context(1));
  two.backward({&x, 1}, y2, g, {&dx2, 1}, b2.context(2));
  EXPECT_EQ(0, std::memcmp(dx1.data(), dx2.data(), dx1.numel() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(b1.gradients[0].data(), b2.gradients[0].data(), b1.gradients[0].numel() * sizeof(float)));
}

// Note [Fixed summation tree], recursively: the first 2^k partials (largest power of two below
// count) are the left subtree.
float naive_tree(const std::vector<float>& v, size_t begin, size_t end) {
  if (end - begin == 1) return v[begin];
  size_t half = 1;
  while (2 * half < end - begin) half *= 2;
  return naive_tree(v, begin, begin + half) + naive_tree(v, begin + half, end);
}

// Backward of a fresh layer (zero gradients) on samples [first, first + n) of x and g.
struct Gradients {
  std::vector<float> weight, bias;
};
Gradients backward_on(int64_t in, int64_t units, const Tensor& x, const Tensor& g, int64_t first, int64_t n,
                      int threads) {
  Dense dense({.units = units});
  BoundLayer bound(dense, {Shape{n, in}}, threads, 3);
  Tensor xs = Tensor::view(const_cast<float*>(x.data()) + first * in, Shape{n, in});
  Tensor gs = Tensor::view(const_cast<float*>(g.data()) + first * units, Shape{n, units});
  Tensor y(Shape{n, units}), dx(Shape{n, in});
  dense.backward({&xs, 1}, y, gs, {&dx, 1}, bound.context(threads));
  return {{bound.gradients[0].data(), bound.gradients[0].data() + in * units},
          {bound.gradients[1].data(), bound.gradients[1].data() + units}};
}

TEST(Dense, ParameterGradientsAreTheTreeOfGroupSums) {
  // 37 samples: 5 groups, the last of 5 samples; 600 x 300 needs several tiles each way.
  const int64_t n = 37, in = 600, units = 300, groups = 5;
  Tensor x(Shape{n, in}), g(Shape{n, units});
  testing::fill_uniform(x, 4);
  testing::fill_uniform(g, 5);
  // Each group's partial: a GEMM of the group's samples only; the bias in sample order.
  std::vector<std::vector<float>> weight_partials(groups, std::vector<float>(in * units));
  std::vector<std::vector<float>> bias_partials(groups, std::vector<float>(units, 0.0f));
  for (int64_t k = 0; k < groups; ++k) {
    const int64_t s0 = k * kWeightGradGroup, depth = std::min(kWeightGradGroup, n - s0);
    gemm(Trans::yes, Trans::no, in, units, depth, x.data() + s0 * in, in, g.data() + s0 * units, units, 0.0f,
         weight_partials[k].data(), units);
    for (int64_t j = 0; j < units; ++j) {
      float sum = g[s0 * units + j];
      for (int64_t s = s0 + 1; s < s0 + depth; ++s) sum += g[s * units + j];
      bias_partials[k][j] = sum;
    }
  }
  const auto tree_of = [&](const std::vector<std::vector<float>>& partials, int64_t e) {
    std::vector<float> column;
    for (const auto& p : partials) column.push_back(p[e]);
    return 0.0f + naive_tree(column, 0, column.size());
  };
  for (const int threads : {1, 2}) {
    const Gradients got = backward_on(in, units, x, g, 0, n, threads);
    int64_t weight_mismatches = 0, bias_mismatches = 0;
    for (int64_t e = 0; e < in * units; ++e) weight_mismatches += got.weight[e] != tree_of(weight_partials, e);
    for (int64_t j = 0; j < units; ++j) bias_mismatches += got.bias[j] != tree_of(bias_partials, j);
    EXPECT_EQ(weight_mismatches, 0) << threads << " threads";
    EXPECT_EQ(bias_mismatches, 0) << threads << " threads";
  }
}

// What data parallelism rests on: 2 or 4 ranks each summing an aligned power-of-two share of the
// groups, their sums then added in the tree, give the bits of one rank.
TEST(Dense, AlignedShardsOfTheBatchSumToTheSameBits) {
  const int64_t n = 64, in = 75, units = 40;
  Tensor x(Shape{n, in}), g(Shape{n, units});
  testing::fill_uniform(x, 6);
  testing::fill_uniform(g, 7);
  const Gradients whole = backward_on(in, units, x, g, 0, n, 1);
  for (const int64_t shards : {2, 4}) {
    const int64_t share = n / shards;
    std::vector<float> weight_rows(shards * in * units), bias_rows(shards * units);
    for (int64_t r = 0; r < shards; ++r) {
      const Gradients part = backward_on(in, units, x, g, r * share, share, 2);
      std::copy(part.weight.begin(), part.weight.end(), weight_rows.begin() + r * in * units);
      std::copy(part.bias.begin(), part.bias.end(), bias_rows.begin() + r * units);
    }
    tree_sum_in_place(weight_rows.data(), shards, in * units, in * units);
    tree_sum_in_place(bias_rows.data(), shards, units, units);
    EXPECT_EQ(0, std::memcmp(weight_rows.data(), whole.weight.data(), in * units * sizeof(float))) << shards;
    EXPECT_EQ(0, std::memcmp(bias_rows.data(), whole.bias.data(), units * sizeof(float))) << shards;
  }
}

TEST(Dense, ScratchStaysBoundedForLargeLayers) {
  // AlexNet's 9216 -> 4096 at batch 64 with 2 threads: the groups' partials are tiled.
  Dense dense({.units = 4096});
  const int64_t floats = dense.scratch_floats(std::vector<Shape>{Shape{64, 9216}}, 2);
  EXPECT_LT(floats, int64_t{1} << 20) << "a whole partial per group would be 8 x 37.7 M floats";
}

}  // namespace
}  // namespace convoy
