// Note [1x1 convolutions as GEMMs]: the 1x1 entry against the naive references over a grid of
// shapes (strides 1-3, odd sizes, bands, the fused ReLU), with 1 and 2 threads giving the same bits.
#include "core/kernels/pointwise_conv.hpp"

#include <gtest/gtest.h>

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

// (batch, cin, h, w, cout, stride): a 1x1 convolution without padding.
Conv2dGeometry pointwise(int64_t batch, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t stride,
                         bool relu = false) {
  return {.batch = batch,
          .in_channels = cin,
          .in_h = h,
          .in_w = w,
          .out_channels = cout,
          .out_h = (h - 1) / stride + 1,
          .out_w = (w - 1) / stride + 1,
          .kernel_h = 1,
          .kernel_w = 1,
          .stride_h = stride,
          .stride_w = stride,
          .fused_relu = relu};
}

class PointwiseGrid : public ::testing::TestWithParam<Conv2dGeometry> {};

TEST_P(PointwiseGrid, MatchesReferenceOnEveryIsaWithOneAndTwoThreads) {
  const Conv2dGeometry g = GetParam();
  const auto x = random_values(g.batch * g.in_channels * g.in_h * g.in_w, 1);
  const auto w = random_values(g.out_channels * g.patch(), 2);
  const auto b = random_values(g.out_channels, 3);
  const auto og = random_values(g.batch * g.out_channels * g.out_pixels(), 4);
  // The reference: y = relu(conv) with the fused ReLU, and its gradient masked by y > 0.
  std::vector<double> want_y = reference::conv2d_forward(g, x, w, b);
  std::vector<float> dconv = og;
  for (size_t i = 0; i < want_y.size(); ++i)
    if (g.fused_relu) {
      want_y[i] = std::max(want_y[i], 0.0);
      if (want_y[i] <= 0.0) dconv[i] = 0.0f;
    }
  const std::vector<double> want_dx = reference::conv2d_backward_data(g, dconv, w);
  const std::vector<double> want_dw = reference::conv2d_backward_weights(g, x, dconv);
  const std::vector<double> want_db = reference::conv2d_backward_bias(g, dconv);
  testing::for_each_isa([&](Isa) {
    std::vector<float> first;
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      // The entry serves strided forwards and planes wide enough only (its accepts say why),
      // but runs any 1x1 geometry.
      std::vector<float> scratch(kPointwiseBackwardWeights.scratch_floats(g, threads), NAN);
      ASSERT_GE(scratch.size(), kPointwiseForward.scratch_floats(g, threads));
      std::vector<float> y(want_y.size(), NAN), dx(x.size(), NAN), dw(w.size(), 0.0f), db(b.size(), 0.0f);
      kPointwiseForward.run(g, {x.data(), w.data(), b.data(), y.data(), nullptr}, scratch.data(), threads);
      kPointwiseBackwardData.run(g, {y.data(), og.data(), w.data(), dx.data(), nullptr}, scratch.data(), threads);
      kPointwiseBackwardWeights.run(g, {x.data(), y.data(), og.data(), dw.data(), db.data(), nullptr}, scratch.data(),
                                    threads);
      expect_close(y, want_y, "output");
      expect_close(dx, want_dx, "input_grad");
      expect_close(dw, want_dw, "weight_grad");
      expect_close(db, want_db, "bias_grad");
      std::vector<float> bits = y;
      for (const auto* v : {&dx, &dw, &db}) bits.insert(bits.end(), v->begin(), v->end());
      if (threads == 1)
        first = bits;
      else
        EXPECT_EQ(0, std::memcmp(first.data(), bits.data(), bits.size() * sizeof(float))) << "1 vs 2 threads";
    }
  });
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PointwiseGrid,
    ::testing::Values(pointwise(3, 5, 7, 9, 6, 1),           // stride 1, odd sizes
                      pointwise(9, 16, 5, 5, 33, 1, true),   // small planes, the fused ReLU, 33 outputs
                      pointwise(2, 7, 40, 30, 20, 1, true),  // bands: 17 rows of 30 each, the last shorter
                      pointwise(2, 3, 3, 700, 4, 1),         // rows wider than a band
                      pointwise(3, 16, 9, 9, 20, 2),         // ResNet's 1x1/2 shortcut, odd size
                      pointwise(2, 8, 10, 12, 24, 2, true),  // stride 2, even size: the last row and column unread
                      pointwise(2, 6, 70, 66, 5, 2, true),   // stride 2 in bands, zeroed rows between them
                      pointwise(2, 4, 11, 10, 3, 3),         // stride 3
                      pointwise(17, 32, 4, 4, 12, 1),        // three weight-gradient groups
                      pointwise(16, 8, 6, 6, 12, 2, true)),  // two full groups: one a thread with 2
    [](const ::testing::TestParamInfo<Conv2dGeometry>& info) {
      const Conv2dGeometry& g = info.param;
      return std::to_string(g.batch) + "x" + std::to_string(g.in_channels) + "x" + std::to_string(g.in_h) + "x" +
             std::to_string(g.in_w) + "_to_" + std::to_string(g.out_channels) + "_stride" + std::to_string(g.stride_h) +
             (g.fused_relu ? "_relu" : "");
    });

// Every geometry the entry accepts is a 1x1 convolution without padding and without the pool.
TEST(Pointwise, AcceptsOnlyUnpaddedOneByOneWithoutPool) {
  EXPECT_TRUE(kPointwiseBackwardData.accepts(pointwise(2, 4, 8, 8, 4, 1), 1));
  EXPECT_TRUE(kPointwiseForward.accepts(pointwise(2, 4, 16, 16, 4, 2), 1));
  Conv2dGeometry padded = pointwise(2, 4, 8, 8, 4, 1);
  padded.pad_top = padded.pad_left = 1;
  padded.out_h = padded.out_w = 10;
  EXPECT_FALSE(kPointwiseBackwardData.accepts(padded, 1));
  Conv2dGeometry pooled = pointwise(2, 4, 8, 8, 4, 1, true);
  pooled.fused_pool = true;
  EXPECT_FALSE(kPointwiseBackwardData.accepts(pooled, 1));
  // Small planes go to the entries whose GEMMs span samples: below 8x8 outputs for forward and
  // backward-data, at 4x4 and below for the weight gradient.
  EXPECT_FALSE(kPointwiseBackwardData.accepts(pointwise(2, 4, 7, 7, 4, 1), 1));
  EXPECT_FALSE(kPointwiseForward.accepts(pointwise(2, 4, 13, 13, 4, 2), 1));
  EXPECT_TRUE(kPointwiseBackwardWeights.accepts(pointwise(2, 4, 5, 5, 4, 1), 1));
  EXPECT_FALSE(kPointwiseBackwardWeights.accepts(pointwise(2, 4, 4, 4, 4, 1), 1));
  Conv2dGeometry three = pointwise(2, 4, 8, 8, 4, 1);
  three.kernel_h = three.kernel_w = 3;
  three.out_h = three.out_w = 6;
  EXPECT_FALSE(kPointwiseBackwardWeights.accepts(three, 1));
}

}  // namespace
}  // namespace convoy
