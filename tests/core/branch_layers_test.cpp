// Add, Concat and the parameter-free shortcut: the layers that make a model a graph.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/add.hpp"
#include "core/concat.hpp"
#include "core/error.hpp"
#include "core/pad_shortcut.hpp"
#include "core/relu.hpp"
#include "tests/core/gradient_check.hpp"

namespace convoy {
namespace {

TEST(Add, SumsInputsOfOneShape) {
  Add add;
  EXPECT_EQ(add.output_shape(std::vector<Shape>{Shape{2, 3, 4, 4}, Shape{2, 3, 4, 4}}), (Shape{2, 3, 4, 4}));
  EXPECT_THROW(add.output_shape(std::vector<Shape>{Shape{2, 3, 4, 4}, Shape{2, 4, 4, 4}}), ShapeError);
  Tensor a(Shape{1, 3}), b(Shape{1, 3}), c(Shape{1, 3}), y(Shape{1, 3});
  for (int i = 0; i < 3; ++i) a[i] = static_cast<float>(i), b[i] = 10.0f, c[i] = -0.5f;
  const std::vector<Tensor> inputs{a, b, c};
  add.forward(inputs, y, PassContext{});
  EXPECT_FLOAT_EQ(y[0], 9.5f);
  EXPECT_FLOAT_EQ(y[2], 11.5f);
}

TEST(Add, LayerContract) {
  const auto make = [] { return std::unique_ptr<Layer>(std::make_unique<Add>()); };
  EXPECT_EQ(testing::check_layer_contract(make, {Shape{3, 2, 5, 5}, Shape{3, 2, 5, 5}}), "");
  EXPECT_EQ(testing::check_layer_contract(make, {Shape{2, 7}, Shape{2, 7}, Shape{2, 7}}), "");
}

// Note [Post-ops]: add + relu computes what add then relu do, to the bit, in both passes.
TEST(Add, FusedReluEqualsAddThenRelu) {
  const auto make_fused = [] {
    auto add = std::make_unique<Add>();
    EXPECT_TRUE(add->accept_post_op(PostOp::relu));
    EXPECT_FALSE(add->accept_post_op(PostOp::relu));
    return std::unique_ptr<Layer>(std::move(add));
  };
  // Sums kept away from the ReLU's kink at 0, where the derivative is not defined.
  testing::GradientCheckOptions away;
  away.make_inputs = [](std::vector<Tensor>& in) {
    for (int64_t i = 0; i < in[0].numel(); ++i)
      if (std::abs(in[0][i] + in[1][i]) < 0.05f) in[0][i] += 0.2f;
  };
  EXPECT_EQ(testing::check_layer_contract(make_fused, {Shape{3, 2, 5, 5}, Shape{3, 2, 5, 5}}, away), "");
  const Shape s{2, 3, 4, 4};
  Add plain, fused;
  fused.accept_post_op(PostOp::relu);
  Relu relu;
  Tensor a(s), b(s), sum(s), y(s), yf(s), g(s), gr(s), da(s), db(s), daf(s), dbf(s);
  testing::fill_uniform(a, 1);
  testing::fill_uniform(b, 2);
  testing::fill_uniform(g, 3);
  const std::vector<Tensor> in{a, b};
  std::vector<Tensor> grads{da, db}, grads_fused{daf, dbf};
  plain.forward(in, sum, PassContext{});
  relu.forward({&sum, 1}, y, PassContext{});
  fused.forward(in, yf, PassContext{});
  EXPECT_EQ(0, std::memcmp(y.data(), yf.data(), y.numel() * sizeof(float)));
  relu.backward({&sum, 1}, y, g, {&gr, 1}, PassContext{});
  plain.backward(in, sum, gr, grads, PassContext{});
  fused.backward(in, yf, g, grads_fused, PassContext{});
  EXPECT_EQ(0, std::memcmp(da.data(), daf.data(), da.numel() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(db.data(), dbf.data(), db.numel() * sizeof(float)));
}

TEST(Concat, JoinsChannelsInInputOrder) {
  Concat concat;
  EXPECT_EQ(concat.output_shape(std::vector<Shape>{Shape{2, 3, 4, 4}, Shape{2, 5, 4, 4}}), (Shape{2, 8, 4, 4}));
  EXPECT_THROW(concat.output_shape(std::vector<Shape>{Shape{2, 3, 4, 4}, Shape{2, 3, 5, 4}}), ShapeError);
  EXPECT_THROW(concat.output_shape(std::vector<Shape>{Shape{2, 3, 4, 4}, Shape{3, 3, 4, 4}}), ShapeError);
  // Two samples; a has 1 channel of 2 pixels, b has 2 channels.
  Tensor a(Shape{2, 1, 1, 2}), b(Shape{2, 2, 1, 2}), y(Shape{2, 3, 1, 2});
  for (int i = 0; i < 4; ++i) a[i] = static_cast<float>(i);
  for (int i = 0; i < 8; ++i) b[i] = static_cast<float>(100 + i);
  const std::vector<Tensor> inputs{a, b};
  concat.forward(inputs, y, PassContext{});
  const float expected[] = {0, 1, 100, 101, 102, 103, 2, 3, 104, 105, 106, 107};
  for (int i = 0; i < 12; ++i) EXPECT_EQ(y[i], expected[i]) << i;
}

TEST(Concat, LayerContract) {
  const auto make = [] { return std::unique_ptr<Layer>(std::make_unique<Concat>()); };
  EXPECT_EQ(testing::check_layer_contract(make, {Shape{3, 2, 4, 5}, Shape{3, 3, 4, 5}, Shape{3, 1, 4, 5}}), "");
  EXPECT_EQ(testing::check_layer_contract(make, {Shape{2, 4}, Shape{2, 6}}), "");
}

TEST(PadShortcut, SubsamplesAndPadsChannelsEvenly) {
  PadShortcut pad({.out_channels = 4, .stride = 2});
  EXPECT_EQ(pad.output_shape(std::vector<Shape>{Shape{1, 2, 5, 4}}), (Shape{1, 4, 3, 2}));
  EXPECT_THROW(PadShortcut({.out_channels = 3}).output_shape(std::vector<Shape>{Shape{1, 2, 4, 4}}), ShapeError);
  Tensor x(Shape{1, 2, 3, 3}), y(Shape{1, 4, 2, 2});
  for (int i = 0; i < 18; ++i) x[i] = static_cast<float>(i);
  pad.forward({&x, 1}, y, PassContext{});
  // Channel 0 and 3 are zeros; channel 1 is x's channel 0 at rows and columns 0, 2.
  const float expected[] = {0, 0, 0, 0, 0, 2, 6, 8, 9, 11, 15, 17, 0, 0, 0, 0};
  for (int i = 0; i < 16; ++i) EXPECT_EQ(y[i], expected[i]) << i;
}

TEST(PadShortcut, LayerContract) {
  const auto make = [] { return std::unique_ptr<Layer>(std::make_unique<PadShortcut>(PadShortcutOptions{8, 2})); };
  EXPECT_EQ(testing::check_layer_contract(make, {Shape{3, 4, 5, 6}}), "");
}

}  // namespace
}  // namespace convoy
