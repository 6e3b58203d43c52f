#include "core/conv2d.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <ostream>

#include "core/error.hpp"
#include "core/relu.hpp"
#include "tests/core/gradient_check.hpp"

namespace convoy {
namespace {

using testing::BoundLayer;
using testing::check_gradients;
using testing::fill_uniform;

TEST(Conv2d, OutputShapeForEachPaddingMode) {
  const Shape in{2, 3, 28, 27};
  EXPECT_EQ(Conv2d({.out_channels = 8, .kernel = 3}).output_shape(std::vector<Shape>{in}), (Shape{2, 8, 26, 25}));
  EXPECT_EQ(Conv2d({.out_channels = 8, .kernel = 3, .padding = Padding::same}).output_shape(std::vector<Shape>{in}),
            (Shape{2, 8, 28, 27}));
  EXPECT_EQ(Conv2d({.out_channels = 8, .kernel = 3, .stride = 2, .padding = Padding::same}).output_shape(std::vector<Shape>{in}),
            (Shape{2, 8, 14, 14}));
  EXPECT_EQ(Conv2d({.out_channels = 6, .kernel = 5, .padding = Padding::explicit_, .pad = 2}).output_shape(std::vector<Shape>{in}),
            (Shape{2, 6, 28, 27}));
  EXPECT_EQ(Conv2d({.out_channels = 4, .kernel = 3, .stride = 2}).output_shape(std::vector<Shape>{in}), (Shape{2, 4, 13, 13}));
}

TEST(Conv2d, RejectsBadInputsAndOptions) {
  Conv2d conv({.out_channels = 4, .kernel = 5});
  EXPECT_THROW(conv.output_shape(std::vector<Shape>{Shape{1, 1, 4, 4}}), ShapeError);
  EXPECT_THROW(conv.output_shape(std::vector<Shape>{Shape{1, 16}}), ShapeError);
  EXPECT_THROW(Conv2d({.out_channels = 0}), ConfigError);
  EXPECT_THROW(Conv2d({.out_channels = 1, .stride = 0}), ConfigError);
  try {
    conv.output_shape(std::vector<Shape>{Shape{1, 16}});
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 16]"), std::string::npos) << e.what();
  }
}

TEST(Conv2d, ForwardMatchesHandComputedValues) {
  // input 1x1x3x3 = 1..9, one 2x2 kernel [[1, 2], [3, 4]], bias 0.5:
  //   out(0,0) = 1*1 + 2*2 + 4*3 + 5*4 + 0.5 = 37.5, and so on.
  Conv2d conv({.out_channels = 1, .kernel = 2});
  BoundLayer bound(conv, {Shape{1, 1, 3, 3}}, 1, 1);
  for (int i = 0; i < 4; ++i) bound.parameters[0][i] = static_cast<float>(i + 1);
  bound.parameters[1][0] = 0.5f;
  Tensor input(Shape{1, 1, 3, 3}), output(bound.output_shape);
  for (int i = 0; i < 9; ++i) input[i] = static_cast<float>(i + 1);
  conv.forward({&input, 1}, output, bound.context(1));
  EXPECT_FLOAT_EQ(output[0], 37.5f);
  EXPECT_FLOAT_EQ(output[1], 47.5f);
  EXPECT_FLOAT_EQ(output[2], 67.5f);
  EXPECT_FLOAT_EQ(output[3], 77.5f);
}

TEST(Conv2d, SamePaddingWithEvenKernelPadsAfter) {
  // 1x1x1x3 input [1, 2, 3], kernel 1x2 of ones, same: output [1+2, 2+3, 3+0].
  Conv2d conv({.out_channels = 1, .kernel_h = 1, .kernel_w = 2, .padding = Padding::same, .bias = false});
  BoundLayer bound(conv, {Shape{1, 1, 1, 3}}, 1, 1);
  bound.parameters[0].fill(1.0f);
  Tensor input(Shape{1, 1, 1, 3}), output(bound.output_shape);
  input[0] = 1, input[1] = 2, input[2] = 3;
  conv.forward({&input, 1}, output, bound.context(1));
  ASSERT_EQ(output.shape(), (Shape{1, 1, 1, 3}));
  EXPECT_FLOAT_EQ(output[0], 3.0f);
  EXPECT_FLOAT_EQ(output[1], 5.0f);
  EXPECT_FLOAT_EQ(output[2], 3.0f);
}

TEST(Conv2d, FusedReluEqualsConvolutionThenRelu) {
  for (const int threads : {1, 2}) {
    const Shape in{11, 3, 9, 8};  // 11 samples: more than one weight-gradient group
    Conv2d plain({.out_channels = 5, .kernel = 3, .padding = Padding::same});
    Conv2d fused({.out_channels = 5, .kernel = 3, .padding = Padding::same});
    EXPECT_FALSE(fused.accept_post_op(PostOp::max_pool_2x2));  // only after a ReLU
    ASSERT_TRUE(fused.accept_post_op(PostOp::relu));
    EXPECT_FALSE(fused.accept_post_op(PostOp::relu));
    Relu relu;
    BoundLayer bp(plain, {in}, threads, 3), bf(fused, {in}, threads, 3);
    Tensor x(in), y(bp.output_shape), r(bp.output_shape), yf(bp.output_shape), g(bp.output_shape);
    testing::fill_uniform(x, 1);
    testing::fill_uniform(g, 2);
    plain.forward({&x, 1}, y, bp.context(threads));
    relu.forward({&y, 1}, r, bp.context(threads));
    fused.forward({&x, 1}, yf, bf.context(threads));
    ASSERT_EQ(0, std::memcmp(r.data(), yf.data(), r.numel() * sizeof(float)));
    Tensor gy(bp.output_shape), dx(in), dxf(in);
    relu.backward({&y, 1}, r, g, {&gy, 1}, bp.context(threads));
    plain.backward({&x, 1}, y, gy, {&dx, 1}, bp.context(threads));
    fused.backward({&x, 1}, yf, g, {&dxf, 1}, bf.context(threads));
    EXPECT_EQ(0, std::memcmp(dx.data(), dxf.data(), dx.numel() * sizeof(float)));
    // The two paths sum the same terms in loops the compiler may vectorise differently.
    for (size_t p = 0; p < bp.gradients.size(); ++p)
      for (int64_t i = 0; i < bp.gradients[p].numel(); ++i)
        ASSERT_NEAR(bp.gradients[p][i], bf.gradients[p][i], 1e-5f * (1.0f + std::abs(bp.gradients[p][i])))
            << "parameter " << p << " element " << i;
  }
}

struct ConvCase {
  int kernel = 3, stride = 1;
  Padding padding = Padding::valid;
  int pad = 0;  // with Padding::explicit_
  int cin = 1, cout = 1, h = 1, w = 1, n = 1;  // input [n, cin, h, w], cout output channels
};

std::ostream& operator<<(std::ostream& out, const ConvCase& c) {
  return out << c.kernel << "x" << c.kernel << " stride " << c.stride << " pad " << c.pad << ", " << c.n << "x"
             << c.cin << "x" << c.h << "x" << c.w << " -> " << c.cout;
}

class Conv2dGrid : public ::testing::TestWithParam<ConvCase> {
 protected:
  Conv2d make() const {
    const ConvCase& c = GetParam();
    return Conv2d({.out_channels = c.cout, .kernel = c.kernel, .stride = c.stride, .padding = c.padding,
                   .pad = c.pad});
  }
  Shape input() const {
    const ConvCase& c = GetParam();
    return Shape{c.n, c.cin, c.h, c.w};
  }
};

TEST_P(Conv2dGrid, GradientsMatchFiniteDifferences) {
  Conv2d conv = make();
  const std::string failures = check_gradients(conv, {input()});
  EXPECT_TRUE(failures.empty()) << failures;
}

TEST_P(Conv2dGrid, OneAndTwoThreadsGiveTheSameBits) {
  Conv2d one = make(), two = make();
  BoundLayer b1(one, {input()}, 1, 3), b2(two, {input()}, 2, 3);
  Tensor x(input());
  fill_uniform(x, 11);
  Tensor y1(b1.output_shape), y2(b2.output_shape), g(b1.output_shape);
  fill_uniform(g, 12);
  one.forward({&x, 1}, y1, b1.context(1));
  two.forward({&x, 1}, y2, b2.context(2));
  ASSERT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.numel() * sizeof(float)));
  Tensor dx1(input()), dx2(input());
  one.backward({&x, 1}, y1, g, {&dx1, 1}, b1.context(1));
  two.backward({&x, 1}, y2, g, {&dx2, 1}, b2.context(2));
  EXPECT_EQ(0, std::memcmp(dx1.data(), dx2.data(), dx1.numel() * sizeof(float)));
  for (size_t p = 0; p < b1.gradients.size(); ++p)
    EXPECT_EQ(0, std::memcmp(b1.gradients[p].data(), b2.gradients[p].data(), b1.gradients[p].numel() * sizeof(float)))
        << "parameter " << p;
}

INSTANTIATE_TEST_SUITE_P(Shapes, Conv2dGrid,
                         ::testing::Values(
        ConvCase{.kernel = 3, .cin = 1, .cout = 4, .h = 7, .w = 6, .n = 2},
        ConvCase{.kernel = 3, .stride = 2, .cin = 3, .cout = 5, .h = 9, .w = 8, .n = 3},
        ConvCase{.kernel = 3, .padding = Padding::same, .cin = 2, .cout = 3, .h = 5, .w = 5, .n = 2},
        ConvCase{.kernel = 2, .padding = Padding::same, .cin = 3, .cout = 2, .h = 5, .w = 6, .n = 2},
        ConvCase{.kernel = 4, .stride = 2, .padding = Padding::same, .cin = 2, .cout = 3, .h = 7, .w = 6, .n = 2},
        ConvCase{.kernel = 5, .padding = Padding::explicit_, .pad = 2, .cin = 1, .cout = 6, .h = 6, .w = 7, .n = 2},
        ConvCase{.kernel = 3, .stride = 2, .padding = Padding::explicit_, .pad = 1,
                 .cin = 17, .cout = 3, .h = 6, .w = 5, .n = 2},
        ConvCase{.kernel = 1, .cin = 5, .cout = 7, .h = 4, .w = 3, .n = 3},
        ConvCase{.kernel = 1, .stride = 2, .cin = 3, .cout = 2, .h = 5, .w = 5, .n = 1},
        ConvCase{.kernel = 5, .stride = 3, .padding = Padding::explicit_, .pad = 1,
                 .cin = 2, .cout = 2, .h = 11, .w = 9, .n = 2}));

}  // namespace
}  // namespace convoy
