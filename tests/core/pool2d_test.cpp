#include "core/pool2d.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <ostream>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "tests/core/gradient_check.hpp"

namespace convoy {
namespace {

using testing::check_gradients;
using testing::GradientCheckOptions;

// Distinct values spaced 0.1 apart in a random order: no two positions of a window tie, and
// a finite-difference step of 0.01 never changes which one is the maximum.
void fill_distinct(std::vector<Tensor>& inputs) {
  Tensor& t = inputs[0];
  const int64_t n = t.numel();
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[i], order[random_bits(5, RandomPurpose::shuffle, 0, i) % (i + 1)]);
  for (int64_t i = 0; i < n; ++i) t[i] = 0.1f * static_cast<float>(order[i]) - 0.05f * n;
}

TEST(Pool2d, OutputShapes) {
  EXPECT_EQ(Pool2d({.window = 2}).output_shape(std::vector<Shape>{Shape{2, 3, 27, 26}}), (Shape{2, 3, 13, 13}));
  EXPECT_EQ(Pool2d({.window = 3, .stride = 2, .pad = 1}).output_shape(std::vector<Shape>{Shape{1, 1, 8, 8}}),
            (Shape{1, 1, 4, 4}));
  EXPECT_EQ(Pool2d({.window = 3, .stride = 2, .ceil_mode = true}).output_shape(std::vector<Shape>{Shape{1, 1, 8, 8}}),
            (Shape{1, 1, 4, 4}));
  EXPECT_THROW(Pool2d({.window = 4}).output_shape(std::vector<Shape>{Shape{1, 1, 3, 3}}), ShapeError);
  EXPECT_THROW(Pool2d({.window = 2, .pad = 2}), ConfigError);
}

TEST(Pool2d, ForwardMatchesHandComputedValues) {
  // 1x1x4x4 = 0..15; 2x2 windows: max = 5, 7, 13, 15; mean = 2.5, 4.5, 10.5, 12.5.
  Tensor input(Shape{1, 1, 4, 4}), output(Shape{1, 1, 2, 2});
  for (int i = 0; i < 16; ++i) input[i] = static_cast<float>(i);
  PassContext ctx;
  Pool2d max_pool({.mode = PoolMode::max, .window = 2});
  max_pool.forward({&input, 1}, output, ctx);
  EXPECT_EQ(std::vector<float>(output.data(), output.data() + 4), (std::vector<float>{5, 7, 13, 15}));
  Pool2d avg_pool({.mode = PoolMode::average, .window = 2});
  avg_pool.forward({&input, 1}, output, ctx);
  EXPECT_EQ(std::vector<float>(output.data(), output.data() + 4), (std::vector<float>{2.5, 4.5, 10.5, 12.5}));
}

TEST(Pool2d, AveragePaddingIsNotCounted) {
  // 3x3 window, stride 1, pad 1 over a 2x2 of ones: every window averages ones only.
  Tensor input(Shape{1, 1, 2, 2}), output(Shape{1, 1, 2, 2});
  input.fill(1.0f);
  Pool2d pool({.mode = PoolMode::average, .window = 3, .stride = 1, .pad = 1});
  pool.forward({&input, 1}, output, PassContext{});
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(output[i], 1.0f);
}

struct PoolCase {
  PoolMode mode = PoolMode::max;
  int window = 2, stride = 2, pad = 0;
  int c = 1, h = 1, w = 1, n = 1;  // input [n, c, h, w]
};

std::ostream& operator<<(std::ostream& out, const PoolCase& c) {
  return out << (c.mode == PoolMode::max ? "max " : "average ") << c.window << "x" << c.window << " stride "
             << c.stride << " pad " << c.pad << ", " << c.n << "x" << c.c << "x" << c.h << "x" << c.w;
}

class Pool2dGrid : public ::testing::TestWithParam<PoolCase> {
 protected:
  Pool2d make() const {
    const PoolCase& c = GetParam();
    return Pool2d({.mode = c.mode, .window = c.window, .stride = c.stride, .pad = c.pad});
  }
  Shape input() const {
    const PoolCase& c = GetParam();
    return Shape{c.n, c.c, c.h, c.w};
  }
};

TEST_P(Pool2dGrid, GradientsMatchFiniteDifferences) {
  Pool2d pool = make();
  GradientCheckOptions options;
  options.make_inputs = fill_distinct;
  const std::string failures = check_gradients(pool, {input()}, options);
  EXPECT_TRUE(failures.empty()) << failures;
}

TEST_P(Pool2dGrid, OneAndTwoThreadsGiveTheSameBits) {
  Pool2d pool = make();
  std::vector<Tensor> x = {Tensor(input())};
  fill_distinct(x);
  const Shape out_shape = pool.output_shape(std::vector<Shape>{input()});
  Tensor y1(out_shape), y2(out_shape), g(out_shape), dx1(input()), dx2(input());
  testing::fill_uniform(g, 3);
  PassContext one, two;
  two.threads = 2;
  pool.forward(x, y1, one);
  pool.forward(x, y2, two);
  EXPECT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.numel() * sizeof(float)));
  pool.backward(x, y1, g, {&dx1, 1}, one);
  pool.backward(x, y2, g, {&dx2, 1}, two);
  EXPECT_EQ(0, std::memcmp(dx1.data(), dx2.data(), dx1.numel() * sizeof(float)));
}

INSTANTIATE_TEST_SUITE_P(Shapes, Pool2dGrid,
                         ::testing::Values(
        PoolCase{.window = 2, .stride = 2, .c = 3, .h = 6, .w = 6, .n = 2},
        PoolCase{.window = 2, .stride = 2, .c = 2, .h = 7, .w = 5, .n = 3},
        PoolCase{.window = 3, .stride = 2, .pad = 1, .c = 2, .h = 7, .w = 7, .n = 2},
        PoolCase{.window = 3, .stride = 1, .c = 1, .h = 5, .w = 6, .n = 2},
        PoolCase{.mode = PoolMode::average, .window = 2, .stride = 2, .c = 3, .h = 6, .w = 6, .n = 2},
        PoolCase{.mode = PoolMode::average, .window = 3, .stride = 2, .pad = 1, .c = 2, .h = 7, .w = 7, .n = 2},
        PoolCase{.mode = PoolMode::average, .window = 3, .stride = 1, .pad = 1, .c = 2, .h = 5, .w = 4, .n = 1},
        PoolCase{.window = 2, .stride = 2, .c = 16, .h = 12, .w = 12, .n = 2}));

}  // namespace
}  // namespace convoy
