#include "core/dropout.hpp"

#include <gtest/gtest.h>

#include <cstring>

#include "core/error.hpp"
#include "tests/core/gradient_check.hpp"

namespace convoy {
namespace {

PassContext training_context(int64_t step, int64_t first_sample, int layer) {
  PassContext ctx;
  ctx.seed = 42;
  ctx.step = step;
  ctx.first_sample = first_sample;
  ctx.layer_index = layer;
  return ctx;
}

TEST(Dropout, DropsAboutRateAndScalesTheRest) {
  Dropout dropout({.rate = 0.3});
  EXPECT_THROW(Dropout({.rate = 1.0}), ConfigError);
  Tensor x(Shape{64, 500}), y(Shape{64, 500});
  x.fill(2.0f);
  dropout.forward({&x, 1}, y, training_context(3, 0, 1));
  int64_t dropped = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    if (y[i] == 0.0f) {
      ++dropped;
    } else {
      ASSERT_FLOAT_EQ(y[i], 2.0f / 0.7f);
    }
  }
  EXPECT_NEAR(static_cast<double>(dropped) / y.numel(), 0.3, 0.01);
  // Inference is the identity.
  PassContext eval = training_context(3, 0, 1);
  eval.training = false;
  dropout.forward({&x, 1}, y, eval);
  EXPECT_EQ(0, std::memcmp(x.data(), y.data(), x.numel() * sizeof(float)));
}

// The mask is a function of (seed, step, layer, global sample, element): a rank holding samples
// 4..7 of the batch draws exactly what one rank draws for them; another step or layer differs.
TEST(Dropout, MaskFollowsGlobalSampleStepAndLayer) {
  Dropout dropout({.rate = 0.5});
  Tensor x(Shape{8, 33}), whole(Shape{8, 33}), part(Shape{4, 33}), other(Shape{8, 33});
  testing::fill_uniform(x, 1);
  dropout.forward({&x, 1}, whole, training_context(5, 0, 2));
  Tensor tail = Tensor::view(x.data() + 4 * 33, Shape{4, 33});
  dropout.forward({&tail, 1}, part, training_context(5, 4, 2));
  EXPECT_EQ(0, std::memcmp(whole.data() + 4 * 33, part.data(), part.numel() * sizeof(float)));
  dropout.forward({&x, 1}, other, training_context(6, 0, 2));
  EXPECT_NE(0, std::memcmp(whole.data(), other.data(), whole.numel() * sizeof(float)));
  dropout.forward({&x, 1}, other, training_context(5, 0, 3));
  EXPECT_NE(0, std::memcmp(whole.data(), other.data(), whole.numel() * sizeof(float)));
}

TEST(Dropout, LayerContract) {
  const auto make = [] { return std::unique_ptr<Layer>(std::make_unique<Dropout>(DropoutOptions{.rate = 0.4})); };
  EXPECT_EQ(testing::check_layer_contract(make, {Shape{5, 3, 4, 4}}), "");
  EXPECT_EQ(testing::check_layer_contract(make, {Shape{9, 17}}), "");
}

}  // namespace
}  // namespace convoy
