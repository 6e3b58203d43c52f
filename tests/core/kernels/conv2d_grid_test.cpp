// The convolution kernels against the naive references over a grid of geometries (strides 1-3,
// asymmetric padding, odd channel counts, 1x1 to 5x5 and 2x3 kernels), on every ISA, with 1
// and 2 threads giving the same bits.
#include "core/kernels/conv2d_kernels.hpp"
#include "core/kernels/pool2d_kernels.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "tests/core/kernels/kernel_test_support.hpp"
#include "tests/core/kernels/reference_kernels.hpp"

namespace convoy {
namespace {

using testing::expect_close;
using testing::random_values;

// (batch, cin, h, w, cout, kh, kw, stride, pad_top, pad_left, pad_bottom, pad_right)
Conv2dGeometry make(int64_t batch, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t kh, int64_t kw,
                    int64_t stride, int64_t pad_top, int64_t pad_left, int64_t pad_bottom, int64_t pad_right) {
  return {.batch = batch, .in_channels = cin, .in_h = h, .in_w = w, .out_channels = cout,
          .out_h = (h + pad_top + pad_bottom - kh) / stride + 1, .out_w = (w + pad_left + pad_right - kw) / stride + 1,
          .kernel_h = kh, .kernel_w = kw, .stride_h = stride, .stride_w = stride, .pad_top = pad_top,
          .pad_left = pad_left};
}

class Conv2dKernelGrid : public ::testing::TestWithParam<Conv2dGeometry> {};

TEST_P(Conv2dKernelGrid, MatchesReferenceOnEveryIsaWithOneAndTwoThreads) {
  const Conv2dGeometry g = GetParam();
  const auto x = random_values(g.batch * g.in_channels * g.in_h * g.in_w, 1);
  const auto w = random_values(g.out_channels * g.patch(), 2);
  const auto b = random_values(g.out_channels, 3);
  const auto og = random_values(g.batch * g.out_channels * g.out_pixels(), 4);
  const std::vector<double> want_y = reference::conv2d_forward(g, x, w, b);
  const std::vector<double> want_dx = reference::conv2d_backward_data(g, og, w);
  const std::vector<double> want_dw = reference::conv2d_backward_weights(g, x, og);
  const std::vector<double> want_db = reference::conv2d_backward_bias(g, og);
  testing::for_each_isa([&](Isa) {
    std::vector<float> first;
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      std::vector<float> scratch(conv2d_scratch_floats(g, threads), NAN), y(want_y.size(), NAN), dx(x.size(), NAN),
          dw(w.size(), 0.0f), db(b.size(), 0.0f);
      conv2d_forward(g, x.data(), w.data(), b.data(), y.data(), scratch, threads);
      conv2d_backward_data(g, nullptr, og.data(), w.data(), dx.data(), scratch, threads);
      conv2d_backward_weights(g, x.data(), nullptr, og.data(), dw.data(), db.data(), scratch, threads);
      expect_close(y, want_y, "output");
      expect_close(dx, want_dx, "input_grad");
      expect_close(dw, want_dw, "weight_grad");
      expect_close(db, want_db, "bias_grad");
      std::vector<float> bits = y;
      for (const auto* v : {&dx, &dw, &db}) bits.insert(bits.end(), v->begin(), v->end());
      if (threads == 1) first = bits;
      else EXPECT_EQ(0, std::memcmp(first.data(), bits.data(), bits.size() * sizeof(float))) << "1 vs 2 threads";
    }
  });
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2dKernelGrid,
    ::testing::Values(make(1, 1, 7, 9, 3, 3, 3, 1, 0, 0, 0, 0),    // batch 1, one input channel
                      make(5, 3, 9, 8, 17, 3, 3, 2, 1, 1, 1, 1),   // stride 2, padded
                      make(2, 5, 21, 35, 7, 3, 3, 2, 1, 1, 1, 1),  // stride 2, three 16-pixel pieces a row
                      make(3, 4, 12, 17, 6, 3, 3, 2, 0, 2, 1, 0),  // stride 2, left padding 2, none on top
                      make(2, 3, 23, 22, 8, 7, 7, 2, 3, 3, 3, 3),  // ResNet's 7x7/2 stem, padded 3
                      Conv2dGeometry{.batch = 2,
                                     .in_channels = 3,
                                     .in_h = 7,
                                     .in_w = 20,
                                     .out_channels = 5,
                                     .out_h = 7,
                                     .out_w = 10,
                                     .kernel_h = 3,
                                     .kernel_w = 3,
                                     .stride_h = 1,
                                     .stride_w = 2,
                                     .pad_top = 1,
                                     .pad_left = 1},                   // stride 2 across only
                      make(2, 17, 10, 11, 5, 5, 5, 3, 2, 2, 2, 2),     // stride 3, 5x5
                      make(3, 4, 6, 7, 6, 2, 2, 1, 0, 0, 1, 1),        // `same` with an even kernel: pad after only
                      make(2, 5, 7, 6, 4, 2, 3, 1, 1, 1, 0, 1),        // 2x3, asymmetric padding
                      make(3, 2, 9, 8, 5, 3, 3, 1, 0, 2, 1, 0),        // top and left padding differ
                      make(9, 16, 5, 5, 33, 1, 1, 1, 0, 0, 0, 0),      // 1x1: a plain GEMM
                      make(12, 32, 13, 13, 64, 3, 3, 1, 0, 0, 0, 0),   // keras-cnn's middle layer: narrow Winograd
                      make(3, 5, 12, 14, 7, 3, 3, 1, 1, 1, 1, 1),      // 3x3 `same`, narrow rows
                      make(3, 3, 36, 37, 5, 3, 3, 1, 1, 1, 1, 1),      // large output: chunks are bands of rows
                      make(2, 2, 70, 70, 3, 3, 3, 2, 1, 1, 1, 1),      // bands with stride 2
                      make(2, 4, 40, 45, 6, 5, 5, 1, 2, 2, 2, 2),      // wide rows: forward by shifted rows, 5x5
                      make(2, 3, 33, 40, 4, 2, 3, 1, 1, 1, 0, 1),      // shifted rows, padding on one side only
                      make(2, 4, 34, 40, 24, 3, 3, 1, 1, 1, 1, 1),     // shifted rows in whole 12-row tiles
                      make(2, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1),    // Winograd: 8 + 8 output tiles
                      make(2, 17, 33, 31, 20, 3, 3, 1, 1, 1, 1, 1),    // Winograd, 16 tiles a row, odd width, 12 + 8
                      make(3, 16, 17, 19, 16, 3, 3, 1, 0, 0, 0, 0),    // Winograd, valid: odd sizes, half tiles
                      make(2, 18, 15, 37, 17, 3, 3, 1, 2, 1, 0, 2),    // Winograd, asymmetric pads, 19 tiles a row
                      make(1, 16, 15, 15, 24, 3, 3, 1, 3, 3, 3, 3),    // Winograd, pad 3: backward's pad is -1
                      make(2, 16, 24, 14, 16, 3, 3, 1, 1, 1, 1, 1),    // Winograd, narrow: two tile rows a vector
                      make(3, 17, 9, 9, 20, 3, 3, 1, 1, 1, 1, 1),      // Winograd, narrow, runs across samples
                      make(2, 16, 96, 3, 16, 3, 3, 1, 1, 1, 1, 1),     // same convolution (3 wide: Winograd wastes)
                      make(2, 17, 19, 14, 20, 3, 3, 1, 1, 1, 1, 1),    // Winograd, narrow, odd height, 12 + 8
                      make(2, 48, 16, 18, 17, 3, 3, 1, 1, 1, 1, 1),    // Winograd, dU in a 32- and a 16-column tile
                      make(1, 16, 40, 45, 28, 5, 5, 1, 2, 2, 2, 2),    // same 5x5, four chunks, 12 + 8 + 8
                      make(2, 20, 20, 24, 17, 2, 2, 1, 0, 0, 1, 1),    // same with an even kernel; 12 + padded 8
                      make(2, 16, 16, 17, 52, 1, 1, 1, 0, 0, 0, 0),    // same 1x1; 12 x 3 + 8 + 8
                      make(7, 9, 5, 5, 13, 3, 3, 1, 0, 0, 0, 0),       // small planes: taps are permutes
                      make(40, 16, 5, 5, 20, 3, 3, 1, 0, 0, 0, 0),     // samples as columns: 32 + 8, 12 + 8 rows
                      make(3, 17, 4, 4, 16, 3, 3, 1, 1, 1, 1, 1),      // samples as columns, padded corners
                      make(2, 16, 4, 5, 18, 2, 3, 1, 0, 1, 0, 1),      // samples as columns, 2x3, asymmetric
                      make(2, 16, 2, 2, 16, 3, 3, 1, 3, 3, 0, 0),      // samples as columns, outputs in padding only
                      make(33, 6, 12, 12, 16, 5, 5, 1, 0, 0, 0, 0),    // samples as columns forward, 6 channels
                      make(34, 32, 5, 5, 33, 3, 3, 1, 0, 0, 0, 0),     // samples as columns, a call per tap
                      make(2, 32, 4, 4, 32, 3, 3, 1, 1, 1, 1, 1),      // a call per tap, padded corners
                      make(2, 32, 2, 2, 32, 3, 3, 1, 3, 3, 0, 0),      // a call per tap, outputs in padding only
                      make(2, 16, 9, 9, 20, 3, 3, 1, 0, 0, 1, 1),      // samples as columns, 7x8: Winograd wastes
                      make(4, 3, 4, 4, 5, 3, 3, 1, 1, 1, 1, 1),        // small planes with padding
                      make(5, 3, 5, 6, 7, 2, 3, 2, 1, 0, 0, 1),        // small planes, stride 2, asymmetric
                      make(2, 3, 30, 29, 8, 7, 7, 2, 3, 3, 3, 3),      // ResNet's and GoogLeNet's 7x7/2 stem
                      make(2, 3, 39, 37, 8, 11, 11, 4, 2, 2, 2, 2),    // AlexNet's 11x11/4 stem
                      make(3, 16, 9, 9, 20, 1, 1, 2, 0, 0, 0, 0),      // ResNet's 1x1/2 shortcut, odd size
                      make(2, 16, 15, 16, 32, 3, 3, 2, 1, 1, 1, 1)));  // ResNet's 3x3/2 downsampling

// Small integers: every sum is exact in float and double alike, so the reference picks the same
// window maxima as the kernel, and ties (which the first position must win) are frequent.
std::vector<float> small_integers(int64_t n, uint64_t seed, int range) {
  std::vector<float> v = random_values(n, seed);
  for (float& x : v) x = std::round(x * static_cast<float>(range));
  return v;
}

class FusedPoolGrid : public ::testing::TestWithParam<Conv2dGeometry> {};

// Note [Fused pooling]: convolution + ReLU + 2x2 max pool, forward and both gradients, against
// the reference convolution followed by the reference ReLU and max pool.
TEST_P(FusedPoolGrid, MatchesConvolutionReluAndMaxPoolOnEveryIsa) {
  Conv2dGeometry g = GetParam();
  g.fused_relu = g.fused_pool = true;
  const auto x = small_integers(g.batch * g.in_channels * g.in_h * g.in_w, 1, 2);
  const auto w = small_integers(g.out_channels * g.patch(), 2, 1);
  const auto b = small_integers(g.out_channels, 3, 1);
  const auto og = random_values(g.batch * g.out_channels * g.pooled_h() * g.pooled_w(), 4);
  // The reference: z = relu(conv), y = pool(z), and the gradient routed back through both.
  const std::vector<double> conv = reference::conv2d_forward(g, x, w, b);
  std::vector<float> z(conv.size());
  for (size_t i = 0; i < z.size(); ++i) z[i] = static_cast<float>(std::max(conv[i], 0.0));
  const Pool2dGeometry pool{.batch = g.batch, .channels = g.out_channels, .in_h = g.out_h, .in_w = g.out_w,
                            .out_h = g.pooled_h(), .out_w = g.pooled_w(), .window_h = 2, .window_w = 2,
                            .stride_h = 2, .stride_w = 2};
  const std::vector<double> want_y = reference::max_pool2d_forward(pool, z);
  const std::vector<double> dz = reference::max_pool2d_backward(pool, z, og);
  std::vector<float> dconv(dz.size());
  for (size_t i = 0; i < dz.size(); ++i) dconv[i] = z[i] > 0.0f ? static_cast<float>(dz[i]) : 0.0f;
  const std::vector<double> want_dx = reference::conv2d_backward_data(g, dconv, w);
  const std::vector<double> want_dw = reference::conv2d_backward_weights(g, x, dconv);
  const std::vector<double> want_db = reference::conv2d_backward_bias(g, dconv);
  testing::for_each_isa([&](Isa) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      std::vector<float> scratch(conv2d_scratch_floats(g, threads), NAN), y(want_y.size(), NAN), dx(x.size(), NAN),
          dw(w.size(), 0.0f), db(b.size(), 0.0f);
      std::vector<uint8_t> winners(g.pool_winner_bytes(), 255);
      conv2d_forward(g, x.data(), w.data(), b.data(), y.data(), scratch, threads, winners.data());
      conv2d_backward_data(g, y.data(), og.data(), w.data(), dx.data(), scratch, threads, winners.data());
      conv2d_backward_weights(g, x.data(), y.data(), og.data(), dw.data(), db.data(), scratch, threads,
                              winners.data());
      expect_close(y, want_y, "output");
      expect_close(dx, want_dx, "input_grad");
      expect_close(dw, want_dw, "weight_grad");
      expect_close(db, want_db, "bias_grad");
    }
  });
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FusedPoolGrid,
    ::testing::Values(make(3, 1, 28, 28, 32, 3, 3, 1, 0, 0, 0, 0),    // keras-cnn's first layer
                      make(2, 6, 13, 13, 7, 3, 3, 1, 0, 0, 0, 0),     // odd output: the last row and column unpooled
                      make(9, 3, 6, 40, 5, 3, 3, 1, 1, 1, 1, 1),      // wide rows: two vectors of windows, padded
                      make(2, 2, 9, 9, 3, 2, 2, 2, 0, 0, 0, 0),       // strided convolution under the pool
                      make(2, 2, 35, 35, 3, 3, 3, 1, 0, 0, 0, 0),     // bands of rows, an odd last one
                      make(3, 16, 13, 13, 20, 3, 3, 1, 0, 0, 0, 0),   // Winograd, narrow: keras-cnn's middle layer
                      make(3, 6, 14, 14, 16, 5, 5, 1, 0, 0, 0, 0),    // samples as columns: lenet5's second layer
                      make(2, 17, 22, 37, 16, 3, 3, 1, 1, 1, 1, 1),   // Winograd, wide, odd width
                      make(2, 16, 21, 33, 16, 3, 3, 1, 1, 1, 1, 1)));  // Winograd, wide, odd height and width

}  // namespace
}  // namespace convoy

namespace convoy {
namespace {

class WeightGroupGrid : public ::testing::TestWithParam<Conv2dGeometry> {};

// Note [Weight-gradient groups]: the weight and bias gradients of 16 samples are the sums of
// those of their two groups of 8, computed alone (a tree of two partials is one addition), to
// the bit, whatever the kernel: so ranks holding whole groups reproduce one rank's sum.
TEST_P(WeightGroupGrid, TwoGroupsGiveTheSumOfEachAlone) {
  Conv2dGeometry g = GetParam();
  g.batch = 2 * kWeightGradGroup;
  Conv2dGeometry half = g;
  half.batch = kWeightGradGroup;
  const int64_t in_size = g.in_channels * g.in_h * g.in_w, out_size = g.out_channels * g.out_pixels();
  const auto x = random_values(g.batch * in_size, 1);
  const auto y = random_values(g.batch * out_size, 2);  // a ReLU output: its negatives gate
  const auto og = random_values(g.batch * out_size, 3);
  testing::for_each_isa([&](Isa) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      std::vector<float> dw(g.out_channels * g.patch(), 0.0f), db(g.out_channels, 0.0f);
      std::vector<float> scratch(conv2d_scratch_floats(g, threads));
      conv2d_backward_weights(g, x.data(), y.data(), og.data(), dw.data(), db.data(), scratch, threads);
      std::vector<float> part_w[2], part_b[2];
      for (int k = 0; k < 2; ++k) {
        part_w[k].assign(dw.size(), 0.0f);
        part_b[k].assign(db.size(), 0.0f);
        std::vector<float> half_scratch(conv2d_scratch_floats(half, threads));
        conv2d_backward_weights(half, x.data() + k * half.batch * in_size, y.data() + k * half.batch * out_size,
                                og.data() + k * half.batch * out_size, part_w[k].data(), part_b[k].data(),
                                half_scratch, threads);
      }
      int64_t mismatches = 0;
      for (size_t i = 0; i < dw.size(); ++i) mismatches += dw[i] != part_w[0][i] + part_w[1][i];
      for (size_t i = 0; i < db.size(); ++i) mismatches += db[i] != part_b[0][i] + part_b[1][i];
      EXPECT_EQ(mismatches, 0);
    }
  });
}

Conv2dGeometry relu(Conv2dGeometry g) {
  g.fused_relu = true;
  return g;
}

INSTANTIATE_TEST_SUITE_P(
    Kernels, WeightGroupGrid,
    ::testing::Values(make(1, 3, 9, 8, 5, 3, 3, 1, 1, 1, 1, 1),            // im2col, samples side by side
                      relu(make(1, 4, 34, 40, 24, 3, 3, 1, 1, 1, 1, 1)),    // shifted rows, bands
                      relu(make(1, 16, 18, 20, 17, 3, 3, 1, 1, 1, 1, 1)),   // Winograd, wide
                      make(1, 32, 13, 13, 20, 3, 3, 1, 0, 0, 0, 0),         // narrow: im2col
                      make(1, 1, 28, 28, 32, 3, 3, 1, 0, 0, 0, 0),          // first layer: dot products
                      relu(make(1, 8, 40, 30, 12, 1, 1, 1, 0, 0, 0, 0)),    // 1x1 as a GEMM, bands
                      make(1, 16, 9, 9, 20, 1, 1, 2, 0, 0, 0, 0)));         // 1x1/2 as a GEMM

}  // namespace
}  // namespace convoy
