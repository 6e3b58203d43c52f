#include <gtest/gtest.h>

#include <cmath>

#include "core/flatten.hpp"
#include "core/relu.hpp"
#include "tests/core/gradient_check.hpp"

namespace convoy {
namespace {

TEST(Relu, ForwardAndGradient) {
  Relu relu;
  Tensor x(Shape{1, 4}), y(Shape{1, 4});
  x[0] = -2, x[1] = 0, x[2] = 0.5f, x[3] = 3;
  relu.forward({&x, 1}, y, PassContext{});
  EXPECT_EQ(std::vector<float>(y.data(), y.data() + 4), (std::vector<float>{0, 0, 0.5f, 3}));
  testing::GradientCheckOptions options;
  // Keep inputs away from the kink at 0, where the derivative is not defined.
  options.make_inputs = [](std::vector<Tensor>& in) {
    for (int64_t i = 0; i < in[0].numel(); ++i)
      if (std::abs(in[0][i]) < 0.05f) in[0][i] = 0.1f;
  };
  const std::string failures = testing::check_gradients(relu, {Shape{3, 2, 5, 4}}, options);
  EXPECT_TRUE(failures.empty()) << failures;
}

TEST(Flatten, KeepsNchwOrderAndPassesGradients) {
  Flatten flatten;
  EXPECT_EQ(flatten.output_shape(std::vector<Shape>{Shape{2, 3, 4, 5}}), (Shape{2, 60}));
  Tensor x(Shape{2, 3, 2, 2}), y(Shape{2, 12});
  for (int i = 0; i < 24; ++i) x[i] = static_cast<float>(i);
  flatten.forward({&x, 1}, y, PassContext{});
  for (int i = 0; i < 24; ++i) EXPECT_EQ(y[i], static_cast<float>(i));
  const std::string failures = testing::check_gradients(flatten, {Shape{2, 3, 2, 2}});
  EXPECT_TRUE(failures.empty()) << failures;
}

}  // namespace
}  // namespace convoy
