// The pooling kernels against the naive references, 1 vs 2 threads bitwise.
#include "core/kernels/pool2d_kernels.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "tests/core/kernels/kernel_test_support.hpp"
#include "tests/core/kernels/reference_kernels.hpp"

namespace convoy {
namespace {

using testing::expect_close;
using testing::random_values;

Pool2dGeometry make(int64_t batch, int64_t channels, int64_t h, int64_t w, int64_t window_h, int64_t window_w,
                    int64_t stride_h, int64_t stride_w, int64_t pad_top, int64_t pad_left, int64_t pad_bottom,
                    int64_t pad_right) {
  return {.batch = batch, .channels = channels, .in_h = h, .in_w = w,
          .out_h = (h + pad_top + pad_bottom - window_h) / stride_h + 1,
          .out_w = (w + pad_left + pad_right - window_w) / stride_w + 1,
          .window_h = window_h, .window_w = window_w, .stride_h = stride_h, .stride_w = stride_w,
          .pad_top = pad_top, .pad_left = pad_left};
}

class Pool2dKernelGrid : public ::testing::TestWithParam<Pool2dGeometry> {};

// Random values, then the same rounded to halves so that windows hold ties (and -0 beside +0).
void check_against_reference(const Pool2dGeometry& g, bool ties) {
  std::vector<float> x = random_values(g.batch * g.channels * g.in_h * g.in_w, 1);
  if (ties)
    for (float& v : x) v = std::round(2.0f * v) / 2.0f;
  const std::vector<float> og = random_values(g.batch * g.channels * g.out_h * g.out_w, 2);
  std::vector<std::vector<float>> results[2];
  for (int threads : {1, 2}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    std::vector<float> max_y(og.size(), NAN), max_dx(x.size(), NAN), avg_y(og.size(), NAN), avg_dx(x.size(), NAN);
    max_pool2d_forward(g, x.data(), max_y.data(), threads);
    max_pool2d_backward(g, x.data(), og.data(), max_dx.data(), threads);
    avg_pool2d_forward(g, x.data(), avg_y.data(), threads);
    avg_pool2d_backward(g, og.data(), avg_dx.data(), threads);
    expect_close(max_y, reference::max_pool2d_forward(g, x), "max forward");
    expect_close(max_dx, reference::max_pool2d_backward(g, x, og), "max backward");
    expect_close(avg_y, reference::avg_pool2d_forward(g, x), "avg forward");
    expect_close(avg_dx, reference::avg_pool2d_backward(g, og), "avg backward");
    results[threads - 1] = {max_y, max_dx, avg_y, avg_dx};
  }
  for (size_t i = 0; i < results[0].size(); ++i)
    EXPECT_EQ(0, std::memcmp(results[0][i].data(), results[1][i].data(), results[0][i].size() * sizeof(float)))
        << "result " << i << ": 1 vs 2 threads";
}

TEST_P(Pool2dKernelGrid, MaxAndAverageMatchReferenceWithOneAndTwoThreadsOnEveryIsa) {
  testing::for_each_isa([&](Isa) {
    check_against_reference(GetParam(), false);
    SCOPED_TRACE("ties");
    check_against_reference(GetParam(), true);
  });
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Pool2dKernelGrid,
    ::testing::Values(make(1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0),      // the 2x2 fast path
                      make(3, 17, 11, 11, 2, 2, 2, 2, 0, 0, 0, 0),   // odd input: last row and column dropped
                      make(4, 17, 24, 24, 2, 2, 2, 2, 0, 0, 0, 0),   // enough planes for two threads
                      make(2, 3, 9, 7, 3, 3, 2, 2, 0, 0, 0, 0),      // overlapping windows
                      make(2, 5, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1),      // `same` 3x3: padding never wins
                      make(1, 3, 7, 10, 2, 3, 1, 2, 0, 1, 1, 1),     // 2x3, asymmetric padding
                      make(4, 17, 30, 30, 3, 3, 3, 3, 1, 1, 1, 1),   // stride 3, two threads
                      make(3, 7, 13, 13, 3, 3, 2, 2, 0, 0, 0, 0),    // 3x3 stride 2 (AlexNet), odd input
                      make(4, 9, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1),    // 3x3 stride 2 pad 1 (ResNet), two threads
                      make(2, 3, 40, 41, 2, 2, 2, 2, 0, 0, 0, 0),    // wide rows
                      make(2, 4, 40, 41, 3, 3, 1, 1, 1, 1, 1, 1),    // 3x3 `same`: three vectors of outputs a row
                      make(2, 3, 12, 12, 3, 3, 2, 2, 0, 0, 1, 1),    // 3x3/2 in ceil mode (GoogLeNet): past the input
                      make(2, 3, 70, 67, 3, 3, 2, 2, 1, 1, 1, 1),    // 3x3/2 pad 1, three vectors of outputs a row
                      make(4, 9, 16, 16, 3, 3, 2, 2, 0, 0, 1, 1),    // 3x3/2 ceil to 8x8: two output rows a vector
                      make(2, 3, 7, 15, 3, 3, 2, 2, 0, 0, 0, 0),     // two rows a vector, an odd number of rows of 7
                      make(2, 3, 5, 5, 2, 2, 1, 1, 0, 0, 0, 0),      // 2x2 stride 1: overlapping
                      make(8, 40, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1),     // 3x3 `same` on 4x4 planes, flat: two threads
                      make(3, 5, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1),      // flat, four planes a vector
                      make(2, 7, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1),      // flat, lane patterns repeating every 49 vectors
                      make(4, 70, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1),     // flat, several blocks a thread
                      make(3, 5, 3, 5, 3, 3, 1, 1, 1, 1, 1, 1),      // flat, rows of 5
                      make(2, 3, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1),      // flat, planes of one
                      make(2, 3, 16, 15, 3, 3, 1, 1, 1, 1, 1, 1),    // flat, the widest and largest planes
                      make(3, 5, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0),      // global
                      make(8, 300, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0)));  // global, two threads

// Note [3x3 max pooling in vectors]: windows with nothing above -inf take the scalar rule (their
// first position inside the input), wherever they fall among the vector's lanes.
TEST(MaxPool3x3, WindowsOfMinusInfinityTakeTheirFirstPosition) {
  for (const Pool2dGeometry& g : {make(2, 3, 9, 20, 3, 3, 1, 1, 1, 1, 1, 1), make(2, 3, 9, 41, 3, 3, 2, 2, 1, 1, 1, 1),
                                  make(2, 3, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1), make(2, 3, 9, 13, 3, 3, 2, 2, 1, 1, 1, 1),
                                  make(2, 3, 6, 2, 3, 3, 1, 1, 1, 1, 1, 1), make(2, 3, 7, 1, 3, 3, 1, 1, 1, 1, 1, 1)}) {
    std::vector<float> x = random_values(g.batch * g.channels * g.in_h * g.in_w, 1);
    for (size_t i = 0; i < x.size(); ++i)
      if (i / g.in_w % 3 != 1 || i % 7 < 3) x[i] = -INFINITY;  // whole rows, and runs in the others
    const std::vector<float> og = random_values(g.batch * g.channels * g.out_h * g.out_w, 2);
    testing::for_each_isa([&](Isa) {
      std::vector<float> y(og.size(), NAN), dx(x.size(), NAN);
      max_pool2d_forward(g, x.data(), y.data(), 1);
      max_pool2d_backward(g, x.data(), og.data(), dx.data(), 1);
      const std::vector<double> want_y = reference::max_pool2d_forward(g, x);
      for (size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], want_y[i]) << "max forward element " << i;  // -inf too
      expect_close(dx, reference::max_pool2d_backward(g, x, og), "max backward");
    });
  }
}

// The vector kernels give the values and gradients of the scalar windows bit for bit: ties
// between equal values (and -0 beside +0) go to the first, NaN never wins, windows of -inf take
// their first position, and each input's gradients are summed in output order.
TEST(MaxPoolVectors, GiveTheBitsOfTheScalarWindows) {
  for (const Pool2dGeometry& g :
       {make(5, 7, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1), make(3, 9, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1),
        make(2, 5, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1), make(3, 6, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1),
        make(2, 3, 20, 19, 3, 3, 1, 1, 1, 1, 1, 1), make(2, 3, 17, 18, 3, 3, 2, 2, 1, 1, 1, 1),
        make(3, 6, 16, 16, 3, 3, 2, 2, 0, 0, 1, 1), make(2, 5, 9, 15, 3, 3, 2, 2, 1, 1, 1, 1),
        make(2, 5, 8, 8, 3, 3, 2, 2, 0, 0, 1, 1), make(2, 3, 6, 16, 3, 3, 1, 1, 1, 1, 1, 1)}) {
    SCOPED_TRACE(std::to_string(g.in_h) + "x" + std::to_string(g.in_w) + " stride " + std::to_string(g.stride_h));
    std::vector<float> x = random_values(g.batch * g.channels * g.in_h * g.in_w, 3);
    for (size_t i = 0; i < x.size(); ++i) {
      x[i] = std::round(2.0f * x[i]) / 2.0f;  // ties
      if (x[i] == 0.0f && i % 2 == 1) x[i] = -0.0f;
      if (i % 23 == 5) x[i] = NAN;
      if (i % 19 == 7 || i / 40 % 7 == 3) x[i] = -INFINITY;
    }
    const std::vector<float> og = random_values(g.batch * g.channels * g.out_h * g.out_w, 4);
    std::vector<float> want_y(og.size()), want_dx(x.size());
    const Isa original = active_isa();
    ASSERT_TRUE(set_isa(Isa::generic));
    max_pool2d_forward(g, x.data(), want_y.data(), 1);
    max_pool2d_backward(g, x.data(), og.data(), want_dx.data(), 1);
    set_isa(original);
    testing::for_each_isa([&](Isa) {
      for (int threads : {1, 2}) {
        std::vector<float> y(og.size(), 1.0f), dx(x.size(), 1.0f);
        max_pool2d_forward(g, x.data(), y.data(), threads);
        max_pool2d_backward(g, x.data(), og.data(), dx.data(), threads);
        EXPECT_EQ(0, std::memcmp(y.data(), want_y.data(), y.size() * sizeof(float))) << threads << " threads, forward";
        EXPECT_EQ(0, std::memcmp(dx.data(), want_dx.data(), dx.size() * sizeof(float)))
            << threads << " threads, backward";
      }
    });
  }
}

}  // namespace
}  // namespace convoy
