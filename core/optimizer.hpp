// Optimizers over the flat parameter store: SGD (momentum, Nesterov, weight decay) and Adam.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace convoy {

struct OptimizerConfig {
  std::string type = "sgd";  // "sgd" or "adam"
  float momentum = 0.0f;     // sgd
  bool nesterov = false;     // sgd
  float weight_decay = 0.0f; // L2, added to the gradient (PyTorch's SGD and Adam)
  float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-7f;  // adam (Keras's epsilon)

  void validate() const;  // ConfigError naming the bad setting
  nlohmann::json to_json() const;
  static OptimizerConfig from_json(const nlohmann::json& j);
};

// One buffer of optimizer state, the same length as the parameter store (checkpointed as is).
struct OptimizerBuffer {
  std::string name;
  std::vector<float> values;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Updates parameters[0, n) in place from gradients with learning rate lr. Serial and
  // vectorised: it is memory-bound and the same bits result whatever the thread count.
  virtual void step(float* parameters, const float* gradients, float lr) = 0;
  const OptimizerConfig& config() const { return config_; }
  int64_t steps() const { return steps_; }
  std::vector<OptimizerBuffer>& state() { return state_; }
  // Restores state from a checkpoint; buffer names and lengths must match (IoError otherwise).
  void restore(int64_t steps, const std::vector<OptimizerBuffer>& state);

 protected:
  OptimizerConfig config_;
  int64_t size_ = 0;
  int64_t steps_ = 0;
  std::vector<OptimizerBuffer> state_;
};

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, int64_t parameter_count);

}  // namespace convoy
