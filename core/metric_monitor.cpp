#include "core/metric_monitor.hpp"

#include <cmath>

#include "core/error.hpp"

namespace convoy {

bool is_monitored_metric(const std::string& name) { return name == "val_loss" || name == "val_accuracy"; }

bool MetricMonitor::update(int64_t epoch, double value) {
  const double gain = metric == "val_accuracy" ? value - best : best - value;
  if (best_epoch < 0 || gain > min_delta) {
    best = value;
    best_epoch = epoch;
    stale_epochs = 0;
    return true;
  }
  ++stale_epochs;
  return false;
}

void MetricMonitor::validate() const {
  CONVOY_CHECK(is_monitored_metric(metric), ConfigError, "monitored metric '", metric,
               "': expected val_loss or val_accuracy");
  CONVOY_CHECK(min_delta >= 0.0 && std::isfinite(min_delta), ConfigError, "minimum improvement ", min_delta,
               ": expected a finite value >= 0");
  CONVOY_CHECK(patience >= 0, ConfigError, "patience ", patience, ": expected epochs >= 0");
}

nlohmann::json MetricMonitor::settings_json() const {
  return {{"metric", metric}, {"min_delta", min_delta}, {"patience", patience}};
}

nlohmann::json MetricMonitor::state_json() const {
  return {{"best", best}, {"best_epoch", best_epoch}, {"stale_epochs", stale_epochs}};
}

void MetricMonitor::restore_state(const nlohmann::json& state) {
  try {
    best = state.at("best").get<double>();
    best_epoch = state.at("best_epoch").get<int64_t>();
    stale_epochs = state.at("stale_epochs").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw IoError(std::string("monitored metric state: ") + e.what());
  }
}

}  // namespace convoy
