// LrSchedule: every policy and the warmup against hand-computed rates; settings and state
// through JSON; bad settings refused.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/lr_schedule.hpp"

namespace convoy {
namespace {

TEST(LrSchedule, MultiStepMultipliesByGammaAtEachMilestone) {
  LrSchedule s{.base_lr = 0.1f, .policy = LrPolicy::multistep, .gamma = 0.5f, .milestones = {2, 4}};
  s.validate();
  EXPECT_FLOAT_EQ(s.at(0), 0.1f);
  EXPECT_FLOAT_EQ(s.at(1), 0.1f);
  EXPECT_FLOAT_EQ(s.at(2), 0.05f);
  EXPECT_FLOAT_EQ(s.at(3), 0.05f);
  EXPECT_FLOAT_EQ(s.at(4), 0.025f);
  EXPECT_FLOAT_EQ(s.at(40), 0.025f);
}

TEST(LrSchedule, CosineAnnealsFromTheBaseRateToTheMinimum) {
  // 0.1 (1 + cos(pi e / 4)) / 2: 0.1, 0.0853553, 0.05, 0.0146447, 0, then it stays at 0.
  LrSchedule s{.base_lr = 0.1f, .policy = LrPolicy::cosine, .cosine_epochs = 4};
  s.validate();
  EXPECT_FLOAT_EQ(s.at(0), 0.1f);
  EXPECT_NEAR(s.at(1), 0.0853553f, 1e-7);
  EXPECT_NEAR(s.at(2), 0.05f, 1e-8);
  EXPECT_NEAR(s.at(3), 0.0146447f, 1e-7);
  EXPECT_NEAR(s.at(4), 0.0f, 1e-9);
  EXPECT_NEAR(s.at(9), 0.0f, 1e-9);
  s.min_lr = 0.01f;  // 0.01 + 0.09 / 2 halfway
  EXPECT_NEAR(s.at(2), 0.055f, 1e-8);
  EXPECT_FLOAT_EQ(s.at(4), 0.01f);
}

TEST(LrSchedule, WarmupRaisesTheRateLinearlyOverItsSteps) {
  LrSchedule s{.base_lr = 0.2f, .warmup_steps = 4};
  s.validate();
  // (s + 1) / 4 of 0.2 for steps 0..3, then 0.2.
  EXPECT_FLOAT_EQ(s.at(0, 0), 0.05f);
  EXPECT_FLOAT_EQ(s.at(0, 1), 0.1f);
  EXPECT_FLOAT_EQ(s.at(0, 2), 0.15f);
  EXPECT_FLOAT_EQ(s.at(0, 3), 0.2f);
  EXPECT_FLOAT_EQ(s.at(1, 4), 0.2f);
  // Two epochs of 3 steps: W = 6, so step 2 takes 3/6 of the rate.
  LrSchedule e{.base_lr = 0.2f, .warmup_epochs = 2};
  EXPECT_FLOAT_EQ(e.at(0, 2, 3), 0.1f);
  EXPECT_FLOAT_EQ(e.at(1, 5, 3), 0.2f);
  EXPECT_FLOAT_EQ(e.at(2, 6, 3), 0.2f);
  // Combined with cosine over 4 epochs: epoch 1's cosine rate times 4/8 at step 3 of W = 8.
  LrSchedule c{.base_lr = 0.1f, .policy = LrPolicy::cosine, .cosine_epochs = 4, .warmup_epochs = 2};
  EXPECT_NEAR(c.at(1, 3, 4), 0.0853553f * 0.5f, 1e-7);
  // Combined with multistep: after the first milestone, during the warmup.
  LrSchedule m{.base_lr = 0.1f, .policy = LrPolicy::multistep, .gamma = 0.5f, .milestones = {1}, .warmup_steps = 10};
  EXPECT_FLOAT_EQ(m.at(1, 4, 3), 0.05f * 0.5f);
}

TEST(LrSchedule, PlateauLowersTheRateAfterPatienceEpochsWithoutImprovement) {
  LrSchedule s{.base_lr = 0.1f, .policy = LrPolicy::plateau, .gamma = 0.5f};
  s.plateau = {.metric = "val_loss", .min_delta = 0.0, .patience = 2};
  s.validate();
  EXPECT_FALSE(s.end_epoch(0, 1.0));   // first value: the best
  EXPECT_FALSE(s.end_epoch(1, 0.9));   // better
  EXPECT_FALSE(s.end_epoch(2, 0.95));  // 1 epoch without improvement
  EXPECT_FLOAT_EQ(s.at(3), 0.1f);
  EXPECT_TRUE(s.end_epoch(3, 0.92));   // 2: reduced, the count starts again
  EXPECT_FLOAT_EQ(s.at(4), 0.05f);
  EXPECT_FALSE(s.end_epoch(4, 0.91));  // 1 (0.9 is still the best)
  EXPECT_FALSE(s.end_epoch(5, 0.8));   // better
  EXPECT_FALSE(s.end_epoch(6, 0.85));
  EXPECT_TRUE(s.end_epoch(7, 0.85));
  EXPECT_FLOAT_EQ(s.at(8), 0.025f);
  EXPECT_EQ(s.plateau.best_epoch, 5);

  // The state through JSON: a copy decides the next epochs the same way.
  LrSchedule copy = LrSchedule::from_json(s.to_json());
  copy.restore_state(nlohmann::json::parse(s.state_json().dump()));
  EXPECT_EQ(copy.at(8), s.at(8));
  EXPECT_EQ(copy.end_epoch(8, 0.9), s.end_epoch(8, 0.9));
  EXPECT_EQ(copy.end_epoch(9, 0.9), s.end_epoch(9, 0.9));
  EXPECT_EQ(copy.at(10), s.at(10));
  EXPECT_FLOAT_EQ(copy.at(10), 0.0125f);
}

TEST(LrSchedule, StepDecaySettingsReadAsBeforeAndNewerKeysRoundTrip) {
  const LrSchedule step{.base_lr = 0.1f, .step_epochs = 2, .gamma = 0.5f};
  EXPECT_EQ(step.to_json(), (nlohmann::json{{"base_lr", 0.1f}, {"step_epochs", 2}, {"gamma", 0.5f}}));
  const LrSchedule old = LrSchedule::from_json(nlohmann::json{{"base_lr", 0.1f}, {"step_epochs", 2}, {"gamma", 0.5f}});
  EXPECT_EQ(old.policy, LrPolicy::step);
  EXPECT_EQ(old.warmup_steps, 0);
  LrSchedule s{.base_lr = 0.1f, .policy = LrPolicy::cosine, .cosine_epochs = 7, .min_lr = 0.001f, .warmup_steps = 5};
  EXPECT_EQ(LrSchedule::from_json(s.to_json()).to_json(), s.to_json());
  s = {.base_lr = 0.1f, .policy = LrPolicy::multistep, .milestones = {3, 5}, .warmup_epochs = 1};
  EXPECT_EQ(LrSchedule::from_json(s.to_json()).milestones, (std::vector<int64_t>{3, 5}));
  s = {.base_lr = 0.1f, .policy = LrPolicy::plateau};
  s.plateau = {.metric = "val_accuracy", .min_delta = 0.01, .patience = 3};
  EXPECT_EQ(LrSchedule::from_json(s.to_json()).plateau.settings_json(), s.plateau.settings_json());
}

TEST(LrSchedule, BadSettingsAreRefused) {
  EXPECT_THROW((LrSchedule{.policy = LrPolicy::multistep}.validate()), ConfigError);
  EXPECT_THROW((LrSchedule{.policy = LrPolicy::multistep, .milestones = {4, 2}}.validate()), ConfigError);
  EXPECT_THROW((LrSchedule{.policy = LrPolicy::multistep, .milestones = {0}}.validate()), ConfigError);
  EXPECT_THROW((LrSchedule{.milestones = {2}}.validate()), ConfigError);  // milestones on the step policy
  EXPECT_THROW((LrSchedule{.policy = LrPolicy::cosine}.validate()), ConfigError);
  EXPECT_THROW((LrSchedule{.base_lr = 0.1f, .policy = LrPolicy::cosine, .cosine_epochs = 3, .min_lr = 0.1f}.validate()),
               ConfigError);
  EXPECT_THROW((LrSchedule{.warmup_steps = 2, .warmup_epochs = 1}.validate()), ConfigError);
  EXPECT_THROW((LrSchedule{.policy = LrPolicy::cosine, .step_epochs = 2, .cosine_epochs = 3}.validate()), ConfigError);
  EXPECT_THROW(parse_lr_policy("linear"), ConfigError);
  LrSchedule p{.policy = LrPolicy::plateau};
  p.plateau.metric = "train_loss";
  EXPECT_THROW(p.validate(), ConfigError);
}

}  // namespace
}  // namespace convoy
