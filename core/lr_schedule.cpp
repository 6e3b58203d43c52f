#include "core/lr_schedule.hpp"

#include <cmath>

#include "core/error.hpp"

namespace convoy {

float LrSchedule::at(int64_t epoch) const {
  if (step_epochs <= 0) return base_lr;
  return base_lr * std::pow(gamma, static_cast<float>(epoch / step_epochs));
}

void LrSchedule::validate() const {
  CONVOY_CHECK(base_lr > 0.0f && std::isfinite(base_lr), ConfigError, "learning rate ", base_lr,
               ": expected a positive learning rate");
  CONVOY_CHECK(step_epochs >= 0, ConfigError, "learning-rate step of ", step_epochs, " epochs: expected epochs >= 0");
  CONVOY_CHECK(gamma > 0.0f && gamma <= 1.0f, ConfigError, "learning-rate decay factor ", gamma, ": expected (0, 1]");
}

nlohmann::json LrSchedule::to_json() const {
  return {{"base_lr", base_lr}, {"step_epochs", step_epochs}, {"gamma", gamma}};
}

LrSchedule LrSchedule::from_json(const nlohmann::json& j) {
  LrSchedule s;
  try {
    s.base_lr = j.at("base_lr").get<float>();
    s.step_epochs = j.at("step_epochs").get<int64_t>();
    s.gamma = j.at("gamma").get<float>();
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("schedule settings: ") + e.what());
  }
  return s;
}

}  // namespace convoy
