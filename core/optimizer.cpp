#include "core/optimizer.hpp"

#include <omp.h>

#include <algorithm>
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
  void update(float* p, const float* grad, float lr, int64_t begin, int64_t end) override {
    const float wd = config_.weight_decay, mu = config_.momentum;
    if (mu == 0.0f) {
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) p[i] -= lr * (grad[i] + wd * p[i]);
    } else {
      float* v = state_[0].values.data();
      const bool nesterov = config_.nesterov;
#pragma omp simd
      for (int64_t i = begin; i < end; ++i) {
        const float g = grad[i] + wd * p[i];
        v[i] = mu * v[i] + g;
        p[i] -= lr * (nesterov ? g + mu * v[i] : v[i]);
      }
    }
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

  void update(float* p, const float* grad, float lr, int64_t begin, int64_t end) override {
    const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.epsilon, wd = config_.weight_decay;
    // Bias corrections folded into the step size, as in Kingma & Ba, Algorithm 1 (final paragraph).
    const double c1 = 1.0 - std::pow(static_cast<double>(b1), static_cast<double>(steps_));
    const double c2 = 1.0 - std::pow(static_cast<double>(b2), static_cast<double>(steps_));
    const float step_size = static_cast<float>(lr * std::sqrt(c2) / c1);
    const float eps_hat = static_cast<float>(eps * std::sqrt(c2));
    float* m = state_[0].values.data();
    float* v = state_[1].values.data();
#pragma omp simd
    for (int64_t i = begin; i < end; ++i) {
      const float g = grad[i] + wd * p[i];
      m[i] = b1 * m[i] + (1.0f - b1) * g;
      v[i] = b2 * v[i] + (1.0f - b2) * g * g;
      p[i] -= step_size * m[i] / (std::sqrt(v[i]) + eps_hat);
    }
  }
};

}  // namespace

void Optimizer::step(float* parameters, const float* gradients, float lr, int threads) {
  ++steps_;
  // Below a few cache's worth of parameters a parallel region costs more than it saves.
  constexpr int64_t kParallelFrom = int64_t{1} << 20;
  const auto sliced = [&](float rate, int64_t begin, int64_t end) {
    const int team = end - begin >= kParallelFrom ? std::max(threads, 1) : 1;
    if (team == 1) return update(parameters, gradients, rate, begin, end);
#pragma omp parallel num_threads(team)
    {
      const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
      update(parameters, gradients, rate, begin + (end - begin) * t / n, begin + (end - begin) * (t + 1) / n);
    }
  };
  if (segments_.empty()) return sliced(lr, 0, size_);
  for (const LrSegment& s : segments_)
    if (s.multiplier != 0.0f) sliced(lr * s.multiplier, s.begin, s.end);
}

void Optimizer::set_segments(std::vector<LrSegment> segments) {
  std::sort(segments.begin(), segments.end(), [](const LrSegment& a, const LrSegment& b) { return a.begin < b.begin; });
  segments_.clear();
  int64_t covered = 0;
  for (const LrSegment& s : segments) {
    CONVOY_CHECK(s.begin >= covered && s.begin <= s.end && s.end <= size_, ConfigError, "learning-rate segment [",
                 s.begin, ", ", s.end, ") overlaps another or leaves the parameter store of ", size_);
    CONVOY_CHECK(s.multiplier >= 0.0f && std::isfinite(s.multiplier), ConfigError, "learning-rate multiplier ",
                 s.multiplier, ": expected a finite value >= 0");
    if (s.begin > covered) segments_.push_back({covered, s.begin, 1.0f});
    segments_.push_back(s);
    covered = s.end;
  }
  if (covered < size_) segments_.push_back({covered, size_, 1.0f});
}

void OptimizerConfig::validate() const {
  CONVOY_CHECK(type == "sgd" || type == "adam", ConfigError, "optimizer '", type, "': expected sgd or adam");
  CONVOY_CHECK(momentum >= 0.0f && momentum < 1.0f, ConfigError, "optimizer momentum ", momentum, ": expected [0, 1)");
  CONVOY_CHECK(!nesterov || momentum > 0.0f, ConfigError, "Nesterov momentum needs a momentum > 0");
  CONVOY_CHECK(weight_decay >= 0.0f, ConfigError, "optimizer weight decay ", weight_decay, ": expected >= 0");
  CONVOY_CHECK(beta1 >= 0.0f && beta1 < 1.0f && beta2 >= 0.0f && beta2 < 1.0f, ConfigError,
               "adam betas (", beta1, ", ", beta2, "): expected each in [0, 1)");
  CONVOY_CHECK(epsilon > 0.0f, ConfigError, "adam epsilon ", epsilon, ": expected > 0");
  for (const auto& [layer, m] : layer_lr_multipliers)
    CONVOY_CHECK(m >= 0.0f && std::isfinite(m), ConfigError, "learning-rate multiplier of layer '", layer, "': ", m,
                 ", expected a finite value >= 0 (0 freezes it)");
}

nlohmann::json OptimizerConfig::to_json() const {
  nlohmann::json j = {{"type", type},   {"momentum", momentum}, {"nesterov", nesterov}, {"weight_decay", weight_decay},
                      {"beta1", beta1}, {"beta2", beta2},       {"epsilon", epsilon}};
  // Absent when empty, so the settings of runs without multipliers read as they always did.
  if (!layer_lr_multipliers.empty()) j["layer_lr_multipliers"] = layer_lr_multipliers;
  return j;
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
    c.layer_lr_multipliers = j.value("layer_lr_multipliers", std::map<std::string, float>{});
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
