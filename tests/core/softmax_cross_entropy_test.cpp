#include "core/softmax_cross_entropy.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "tests/core/gradient_check.hpp"

namespace convoy {
namespace {

TEST(SoftmaxCrossEntropy, MatchesHandComputedValues) {
  // logits [0, ln 3] for label 1: softmax = [1/4, 3/4], loss = -ln(3/4).
  Tensor logits(Shape{1, 2}), grad(Shape{1, 2});
  logits[0] = 0.0f, logits[1] = std::log(3.0f);
  const int32_t label = 1;
  const LossStats s = softmax_cross_entropy(logits, &label, 1.0f, &grad);
  EXPECT_NEAR(s.loss_sum, -std::log(0.75), 1e-6);
  EXPECT_EQ(s.correct, 1);
  EXPECT_NEAR(grad[0], 0.25f, 1e-6);
  EXPECT_NEAR(grad[1], -0.25f, 1e-6);
}

TEST(SoftmaxCrossEntropy, IsStableForHugeLogits) {
  Tensor logits(Shape{2, 3}), grad(Shape{2, 3});
  const float values[] = {1000.0f, -1000.0f, 0.0f, -500.0f, 500.0f, 499.0f};
  std::copy(values, values + 6, logits.data());
  const int32_t labels[] = {0, 2};
  const LossStats s = softmax_cross_entropy(logits, labels, 0.5f, &grad);
  EXPECT_TRUE(std::isfinite(s.loss_sum));
  EXPECT_NEAR(s.loss_sum, std::log1p(std::exp(-1.0)) + 1.0, 1e-5);  // sample 0 costs ~0
  EXPECT_EQ(s.correct, 1);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(std::isfinite(grad[i]));
}

TEST(SoftmaxCrossEntropy, GradientMatchesFiniteDifferences) {
  Tensor logits(Shape{4, 5}), grad(Shape{4, 5});
  testing::fill_uniform(logits, 9, -3.0f, 3.0f);
  const int32_t labels[] = {0, 4, 2, 2};
  const float scale = 1.0f / 4.0f;
  softmax_cross_entropy(logits, labels, scale, &grad);
  for (int64_t i = 0; i < logits.numel(); ++i) {
    const float saved = logits[i], eps = 1e-2f;
    logits[i] = saved + eps;
    const double plus = softmax_cross_entropy(logits, labels, 1.0f, nullptr).loss_sum * scale;
    logits[i] = saved - eps;
    const double minus = softmax_cross_entropy(logits, labels, 1.0f, nullptr).loss_sum * scale;
    logits[i] = saved;
    EXPECT_NEAR(grad[i], (plus - minus) / (2 * eps), 1e-4) << "logit " << i;
  }
}

TEST(SoftmaxCrossEntropy, RejectsLabelOutsideTheClasses) {
  Tensor logits(Shape{2, 3});
  const int32_t labels[] = {1, 3};
  try {
    softmax_cross_entropy(logits, labels, 1.0f, nullptr);
    FAIL() << "label 3 of 3 classes was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("label 3"), std::string::npos) << e.what();
  }
  const int32_t negative[] = {-1, 0};
  EXPECT_THROW(softmax_cross_entropy(logits, negative, 1.0f, nullptr), ConfigError);
}

}  // namespace
}  // namespace convoy
