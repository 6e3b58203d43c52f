// LrSchedule: the learning rate as a function of the epoch (constant or step decay).
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace convoy {

// lr(epoch) = base_lr * gamma ^ floor(epoch / step_epochs); step_epochs = 0 keeps it constant.
struct LrSchedule {
  float base_lr = 1e-3f;
  int64_t step_epochs = 0;
  float gamma = 0.1f;

  float at(int64_t epoch) const;
  void validate() const;  // ConfigError for a negative learning rate, gamma or step
  nlohmann::json to_json() const;
  static LrSchedule from_json(const nlohmann::json& j);
};

}  // namespace convoy
