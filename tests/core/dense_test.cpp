#include "core/dense.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "core/error.hpp"
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

}  // namespace
}  // namespace convoy
