#include "core/optimizer.hpp"

#include <cmath>

#include "core/error.hpp"

namespace convoy {
namespace {

class Sgd final : public Optimizer {
 public:
  Sgd(const OptimizerConfig& config, int64_t n) {
    config_ = config;
    size_ = n;
    if (config.momentum > 0.0f) state_.push_back({"momentum", std::vector<float>(n, 0.0f)});
  }

  // PyTorch's formulation: v = mu v + g; p -= lr (nesterov ? g + mu v : v).
  void step(float* p, const float* grad, float lr) override {
    const float wd = config_.weight_decay, mu = config_.momentum;
    if (mu == 0.0f) {
#pragma omp simd
      for (int64_t i = 0; i < size_; ++i) p[i] -= lr * (grad[i] + wd * p[i]);
    } else {
      float* v = state_[0].values.data();
      const bool nesterov = config_.nesterov;
#pragma omp simd
      for (int64_t i = 0; i < size_; ++i) {
        const float g = grad[i] + wd * p[i];
        v[i] = mu * v[i] + g;
        p[i] -= lr * (nesterov ? g + mu * v[i] : v[i]);
      }
    }
    ++steps_;
  }
};

class Adam final : public Optimizer {
 public:
  Adam(const OptimizerConfig& config, int64_t n) {
    config_ = config;
    size_ = n;
    state_.push_back({"adam_m", std::vector<float>(n, 0.0f)});
    state_.push_back({"adam_v", std::vector<float>(n, 0.0f)});
  }

  void step(float* p, const float* grad, float lr) override {
    ++steps_;
    const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.epsilon, wd = config_.weight_decay;
    // Bias corrections folded into the step size, as in Kingma & Ba, Algorithm 1 (final paragraph).
    const double c1 = 1.0 - std::pow(static_cast<double>(b1), static_cast<double>(steps_));
    const double c2 = 1.0 - std::pow(static_cast<double>(b2), static_cast<double>(steps_));
    const float step_size = static_cast<float>(lr * std::sqrt(c2) / c1);
    const float eps_hat = static_cast<float>(eps * std::sqrt(c2));
    float* m = state_[0].values.data();
    float* v = state_[1].values.data();
#pragma omp simd
    for (int64_t i = 0; i < size_; ++i) {
      const float g = grad[i] + wd * p[i];
      m[i] = b1 * m[i] + (1.0f - b1) * g;
      v[i] = b2 * v[i] + (1.0f - b2) * g * g;
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) + eps_hat);
    }
  }
};

}  // namespace

void OptimizerConfig::validate() const {
  CONVOY_CHECK(type == "sgd" || type == "adam", ConfigError, "optimizer '", type, "': expected sgd or adam");
  CONVOY_CHECK(momentum >= 0.0f && momentum < 1.0f, ConfigError, "optimizer momentum ", momentum, ": expected [0, 1)");
  CONVOY_CHECK(!nesterov || momentum > 0.0f, ConfigError, "Nesterov momentum needs a momentum > 0");
  CONVOY_CHECK(weight_decay >= 0.0f, ConfigError, "optimizer weight decay ", weight_decay, ": expected >= 0");
  CONVOY_CHECK(beta1 >= 0.0f && beta1 < 1.0f && beta2 >= 0.0f && beta2 < 1.0f, ConfigError,
               "adam betas (", beta1, ", ", beta2, "): expected each in [0, 1)");
  CONVOY_CHECK(epsilon > 0.0f, ConfigError, "adam epsilon ", epsilon, ": expected > 0");
}

nlohmann::json OptimizerConfig::to_json() const {
  return {{"type", type},   {"momentum", momentum}, {"nesterov", nesterov}, {"weight_decay", weight_decay},
          {"beta1", beta1}, {"beta2", beta2},       {"epsilon", epsilon}};
}

OptimizerConfig OptimizerConfig::from_json(const nlohmann::json& j) {
  OptimizerConfig c;
  try {
    c.type = j.at("type").get<std::string>();
    c.momentum = j.at("momentum").get<float>();
    c.nesterov = j.at("nesterov").get<bool>();
    c.weight_decay = j.at("weight_decay").get<float>();
    c.beta1 = j.at("beta1").get<float>();
    c.beta2 = j.at("beta2").get<float>();
    c.epsilon = j.at("epsilon").get<float>();
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("optimizer settings: ") + e.what());
  }
  return c;
}

void Optimizer::restore(int64_t steps, const std::vector<OptimizerBuffer>& state) {
  CONVOY_CHECK(state.size() == state_.size(), IoError, "optimizer state: expected ", state_.size(),
               " buffers for ", config_.type, ", found ", state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    CONVOY_CHECK(state[i].name == state_[i].name && state[i].values.size() == state_[i].values.size(), IoError,
                 "optimizer state buffer ", i, ": expected '", state_[i].name, "' of ", state_[i].values.size(),
                 " values, found '", state[i].name, "' of ", state[i].values.size());
  }
  state_ = state;
  steps_ = steps;
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, int64_t parameter_count) {
  config.validate();
  if (config.type == "adam") return std::make_unique<Adam>(config, parameter_count);
  return std::make_unique<Sgd>(config, parameter_count);
}

}  // namespace convoy
