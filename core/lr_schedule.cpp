#include "core/lr_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.hpp"

namespace convoy {

const char* lr_policy_name(LrPolicy policy) {
  switch (policy) {
    case LrPolicy::step: return "step";
    case LrPolicy::multistep: return "multistep";
    case LrPolicy::cosine: return "cosine";
    case LrPolicy::plateau: return "plateau";
  }
  return "?";
}

LrPolicy parse_lr_policy(const std::string& name) {
  for (LrPolicy p : {LrPolicy::step, LrPolicy::multistep, LrPolicy::cosine, LrPolicy::plateau})
    if (name == lr_policy_name(p)) return p;
  throw ConfigError("learning-rate schedule '" + name + "': expected step, multistep, cosine or plateau");
}

float LrSchedule::at(int64_t epoch, int64_t global_step, int64_t steps_per_epoch) const {
  float lr = base_lr;
  switch (policy) {
    case LrPolicy::step:
      if (step_epochs > 0) lr = base_lr * std::pow(gamma, static_cast<float>(epoch / step_epochs));
      break;
    case LrPolicy::multistep: {
      const auto passed = std::upper_bound(milestones.begin(), milestones.end(), epoch) - milestones.begin();
      lr = base_lr * std::pow(gamma, static_cast<float>(passed));
      break;
    }
    case LrPolicy::cosine: {
      const double t = static_cast<double>(std::min(epoch, cosine_epochs)) / static_cast<double>(cosine_epochs);
      lr = static_cast<float>(min_lr + (base_lr - min_lr) * (1.0 + std::cos(std::numbers::pi * t)) / 2.0);
      break;
    }
    case LrPolicy::plateau:
      lr = base_lr * plateau_scale;
      break;
  }
  // Note [Learning-rate warmup]
  const int64_t warmup = warmup_steps + warmup_epochs * steps_per_epoch;
  if (global_step < warmup) lr *= static_cast<float>(global_step + 1) / static_cast<float>(warmup);
  return lr;
}

bool LrSchedule::end_epoch(int64_t epoch, double metric_value) {
  if (policy != LrPolicy::plateau) return false;
  plateau.update(epoch, metric_value);
  if (!plateau.exhausted()) return false;
  plateau_scale *= gamma;
  plateau.reset_count();
  return true;
}

void LrSchedule::validate() const {
  CONVOY_CHECK(base_lr > 0.0f && std::isfinite(base_lr), ConfigError, "learning rate ", base_lr,
               ": expected a positive learning rate");
  CONVOY_CHECK(step_epochs >= 0, ConfigError, "step decay every ", step_epochs, " epochs: expected epochs >= 0");
  CONVOY_CHECK(gamma > 0.0f && gamma <= 1.0f, ConfigError, "learning-rate decay factor ", gamma, ": expected (0, 1]");
  CONVOY_CHECK(policy == LrPolicy::step || step_epochs == 0, ConfigError, "step decay every ", step_epochs,
               " epochs only applies to the step schedule, not ", lr_policy_name(policy));
  CONVOY_CHECK(policy == LrPolicy::multistep || milestones.empty(), ConfigError,
               "learning-rate milestones only apply to the multistep schedule, not ", lr_policy_name(policy));
  if (policy == LrPolicy::multistep) {
    CONVOY_CHECK(!milestones.empty(), ConfigError, "the multistep schedule needs milestones (epochs)");
    for (size_t i = 0; i < milestones.size(); ++i)
      CONVOY_CHECK(milestones[i] > 0 && (i == 0 || milestones[i] > milestones[i - 1]), ConfigError,
                   "learning-rate milestone ", milestones[i], ": expected positive epochs in increasing order");
  }
  if (policy == LrPolicy::cosine) {
    CONVOY_CHECK(cosine_epochs > 0, ConfigError, "cosine schedule over ", cosine_epochs, " epochs: expected > 0");
    CONVOY_CHECK(min_lr >= 0.0f && min_lr < base_lr, ConfigError, "cosine schedule's minimum rate ", min_lr,
                 ": expected in [0, ", base_lr, ")");
  }
  CONVOY_CHECK(warmup_steps >= 0 && warmup_epochs >= 0 && (warmup_steps == 0 || warmup_epochs == 0), ConfigError,
               "warmup of ", warmup_steps, " steps and ", warmup_epochs, " epochs: expected one of them, >= 0");
  if (policy == LrPolicy::plateau) plateau.validate();
}

nlohmann::json LrSchedule::to_json() const {
  nlohmann::json j = {{"base_lr", base_lr}, {"step_epochs", step_epochs}, {"gamma", gamma}};
  if (policy != LrPolicy::step) j["policy"] = lr_policy_name(policy);
  if (!milestones.empty()) j["milestones"] = milestones;
  if (policy == LrPolicy::cosine) {
    j["cosine_epochs"] = cosine_epochs;
    j["min_lr"] = min_lr;
  }
  if (warmup_steps > 0) j["warmup_steps"] = warmup_steps;
  if (warmup_epochs > 0) j["warmup_epochs"] = warmup_epochs;
  if (policy == LrPolicy::plateau) j["plateau"] = plateau.settings_json();
  return j;
}

LrSchedule LrSchedule::from_json(const nlohmann::json& j) {
  LrSchedule s;
  try {
    s.base_lr = j.at("base_lr").get<float>();
    s.step_epochs = j.at("step_epochs").get<int64_t>();
    s.gamma = j.at("gamma").get<float>();
    s.policy = parse_lr_policy(j.value("policy", std::string("step")));
    s.milestones = j.value("milestones", std::vector<int64_t>{});
    s.cosine_epochs = j.value("cosine_epochs", int64_t{0});
    s.min_lr = j.value("min_lr", 0.0f);
    s.warmup_steps = j.value("warmup_steps", int64_t{0});
    s.warmup_epochs = j.value("warmup_epochs", int64_t{0});
    if (j.contains("plateau")) {
      const nlohmann::json& p = j.at("plateau");
      s.plateau.metric = p.at("metric").get<std::string>();
      s.plateau.min_delta = p.at("min_delta").get<double>();
      s.plateau.patience = p.at("patience").get<int64_t>();
    }
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("schedule settings: ") + e.what());
  }
  return s;
}

nlohmann::json LrSchedule::state_json() const {
  return {{"plateau_scale", plateau_scale}, {"plateau", plateau.state_json()}};
}

void LrSchedule::restore_state(const nlohmann::json& state) {
  try {
    plateau_scale = state.at("plateau_scale").get<float>();
    plateau.restore_state(state.at("plateau"));
  } catch (const nlohmann::json::exception& e) {
    throw IoError(std::string("schedule state: ") + e.what());
  }
}

}  // namespace convoy
