// MetricMonitor: improvement by direction and min_delta, patience, state through JSON.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/metric_monitor.hpp"

namespace convoy {
namespace {

TEST(MetricMonitor, LossImprovesDownwardByMoreThanMinDelta) {
  MetricMonitor m{.metric = "val_loss", .min_delta = 0.05, .patience = 2};
  EXPECT_TRUE(m.update(0, 1.0));
  EXPECT_FALSE(m.update(1, 0.96));  // 0.04 better: not by more than 0.05
  EXPECT_FALSE(m.exhausted());
  EXPECT_TRUE(m.update(2, 0.90));   // 0.10 better than 1.0
  EXPECT_EQ(m.stale_epochs, 0);
  EXPECT_FALSE(m.update(3, 0.91));
  EXPECT_FALSE(m.update(4, 0.86));  // 0.04 better than 0.90
  EXPECT_TRUE(m.exhausted());
  EXPECT_DOUBLE_EQ(m.best, 0.90);
  EXPECT_EQ(m.best_epoch, 2);
}

TEST(MetricMonitor, AccuracyImprovesUpwardAndPatienceZeroNeverExhausts) {
  MetricMonitor m{.metric = "val_accuracy"};
  EXPECT_TRUE(m.update(0, 0.5));
  EXPECT_FALSE(m.update(1, 0.4));
  EXPECT_FALSE(m.update(2, 0.5));  // equal is no improvement
  EXPECT_TRUE(m.update(3, 0.6));
  for (int e = 4; e < 100; ++e) m.update(e, 0.1);
  EXPECT_FALSE(m.exhausted());
}

TEST(MetricMonitor, StateRoundTripsAndBadSettingsAreRefused) {
  MetricMonitor m{.metric = "val_loss", .patience = 3};
  m.update(0, 0.123456789012345);
  m.update(1, 0.2);
  MetricMonitor copy{.metric = "val_loss", .patience = 3};
  copy.restore_state(nlohmann::json::parse(m.state_json().dump()));
  EXPECT_EQ(copy.best, m.best);
  EXPECT_EQ(copy.best_epoch, 0);
  EXPECT_EQ(copy.stale_epochs, 1);
  EXPECT_THROW(copy.restore_state(nlohmann::json{{"best", 1.0}}), IoError);
  EXPECT_THROW((MetricMonitor{.metric = "loss"}.validate()), ConfigError);
  EXPECT_THROW((MetricMonitor{.min_delta = -0.1}.validate()), ConfigError);
}

}  // namespace
}  // namespace convoy
