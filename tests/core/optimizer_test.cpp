#include "core/optimizer.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/lr_schedule.hpp"

namespace convoy {
namespace {

TEST(Optimizer, SgdMomentumAndNesterovFollowPyTorchFormulas) {
  for (const bool nesterov : {false, true}) {
    OptimizerConfig c{.type = "sgd", .momentum = 0.9f, .nesterov = nesterov, .weight_decay = 0.1f};
    auto opt = make_optimizer(c, 1);
    float p = 1.0f;
    double ref_p = 1.0, v = 0.0;
    const float grads[] = {0.5f, -0.25f, 1.0f};
    for (const float g : grads) {
      opt->step(&p, &g, 0.1f);
      const double gd = g + 0.1 * ref_p;
      v = 0.9 * v + gd;
      ref_p -= 0.1 * (nesterov ? gd + 0.9 * v : v);
    }
    EXPECT_NEAR(p, ref_p, 1e-6) << "nesterov " << nesterov;
    EXPECT_EQ(opt->steps(), 3);
  }
}

TEST(Optimizer, AdamFollowsKingmaAndBa) {
  OptimizerConfig c{.type = "adam", .epsilon = 1e-8f};
  auto opt = make_optimizer(c, 1);
  float p = 0.5f;
  double ref = 0.5, m = 0, v = 0;
  const float grads[] = {0.1f, -0.3f, 0.2f, 0.05f};
  int t = 0;
  for (const float g : grads) {
    opt->step(&p, &g, 0.01f);
    ++t;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    const double mh = m / (1 - std::pow(0.9, t)), vh = v / (1 - std::pow(0.999, t));
    ref -= 0.01 * mh / (std::sqrt(vh) + 1e-8);
  }
  EXPECT_NEAR(p, ref, 1e-6);
}

TEST(Optimizer, RejectsBadSettingsAndMismatchedState) {
  EXPECT_THROW(make_optimizer({.type = "rmsprop"}, 1), ConfigError);
  EXPECT_THROW(make_optimizer({.type = "sgd", .momentum = -0.1f}, 1), ConfigError);
  EXPECT_THROW(make_optimizer({.type = "sgd", .nesterov = true}, 1), ConfigError);
  auto adam = make_optimizer({.type = "adam"}, 4);
  EXPECT_THROW(adam->restore(3, {{"momentum", std::vector<float>(4)}}), IoError);
}

TEST(LrSchedule, StepDecayAndValidation) {
  LrSchedule s{.base_lr = 0.1f, .step_epochs = 2, .gamma = 0.5f};
  EXPECT_FLOAT_EQ(s.at(0), 0.1f);
  EXPECT_FLOAT_EQ(s.at(1), 0.1f);
  EXPECT_FLOAT_EQ(s.at(2), 0.05f);
  EXPECT_FLOAT_EQ(s.at(5), 0.025f);
  EXPECT_THROW((LrSchedule{.base_lr = -1e-3f}.validate()), ConfigError);
  EXPECT_THROW((LrSchedule{.base_lr = 0.0f}.validate()), ConfigError);
  EXPECT_EQ(LrSchedule::from_json(s.to_json()).step_epochs, 2);
}

}  // namespace
}  // namespace convoy
