#include "core/adaptive_avg_pool.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "tests/core/gradient_check.hpp"

namespace convoy {
namespace {

TEST(AdaptiveAvgPool2d, ShapesAndHandComputedWindows) {
  AdaptiveAvgPool2d global({.global = true}), to2x2({.out_h = 2, .out_w = 2});
  EXPECT_EQ(global.output_shape(std::vector<Shape>{Shape{3, 5, 7, 7}}), (Shape{3, 5}));
  EXPECT_EQ(to2x2.output_shape(std::vector<Shape>{Shape{3, 5, 7, 7}}), (Shape{3, 5, 2, 2}));
  EXPECT_THROW(AdaptiveAvgPool2d({.out_h = 0}), ConfigError);
  // A 3x3 plane 0..8 to 2x2: PyTorch's windows are rows [0, 2) and [1, 3), the same for columns.
  Tensor x(Shape{1, 1, 3, 3}), y(Shape{1, 1, 2, 2}), g(Shape{1, 1});
  for (int i = 0; i < 9; ++i) x[i] = static_cast<float>(i);
  to2x2.forward({&x, 1}, y, PassContext{});
  EXPECT_FLOAT_EQ(y[0], (0 + 1 + 3 + 4) / 4.0f);
  EXPECT_FLOAT_EQ(y[3], (4 + 5 + 7 + 8) / 4.0f);
  global.forward({&x, 1}, g, PassContext{});
  EXPECT_FLOAT_EQ(g[0], 4.0f);
}

TEST(AdaptiveAvgPool2d, LayerContract) {
  const auto global = [] { return std::unique_ptr<Layer>(std::make_unique<AdaptiveAvgPool2d>(AdaptiveAvgPoolOptions{.global = true})); };
  const auto to6x6 = [] { return std::unique_ptr<Layer>(std::make_unique<AdaptiveAvgPool2d>(AdaptiveAvgPoolOptions{6, 6})); };
  const auto to3x2 = [] { return std::unique_ptr<Layer>(std::make_unique<AdaptiveAvgPool2d>(AdaptiveAvgPoolOptions{3, 2})); };
  EXPECT_EQ(testing::check_layer_contract(global, {Shape{3, 4, 5, 6}}), "");
  EXPECT_EQ(testing::check_layer_contract(to6x6, {Shape{2, 3, 13, 13}}), "");  // overlapping windows
  EXPECT_EQ(testing::check_layer_contract(to3x2, {Shape{2, 3, 7, 5}}), "");
}

}  // namespace
}  // namespace convoy
