// Optimizers over the flat parameter store: SGD (momentum, Nesterov, weight decay) and Adam.
#pragma once

#include <cstdint>
#include <map>
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
  // Learning-rate multipliers by layer name (fine-tuning); 0 freezes the layer: Note [Layer
  // learning rates]. Empty: every layer at 1.
  std::map<std::string, float> layer_lr_multipliers{};

  void validate() const;  // ConfigError naming the bad setting
  nlohmann::json to_json() const;
  static OptimizerConfig from_json(const nlohmann::json& j);
};

// Note [Layer learning rates]
// Fine-tuning gives layers their own learning rates: the optimizer runs over segments of the
// flat store, each with a multiplier of the step's rate. A segment at 0 is frozen: skipped
// whole, so neither the update nor weight decay touches its bits (its gradients are still
// computed and summed over ranks: skipping them would change the reducer's buckets and save
// little, since the frozen layers of fine-tuning come first and finish backward last). A
// multiplier of 1 multiplies the rate by exactly 1, so a run without multipliers takes the
// same bits as before they existed. layer_segments (core/layer_segments.hpp) turns the names
// into segments.
struct LrSegment {
  int64_t begin = 0, end = 0;  // [begin, end) of the flat parameter store
  float multiplier = 1.0f;
};

// One buffer of optimizer state, the same length as the parameter store (checkpointed as is).
struct OptimizerBuffer {
  std::string name;
  std::vector<float> values;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Updates parameters[0, n) in place from gradients with learning rate lr, vectorised.
  // With segments set, each segment at lr * its multiplier and frozen ones (0) not at all.
  // With threads > 1 a large store is updated in that many contiguous slices at once (each
  // element's update is the same: the bits do not depend on the thread count); the update is
  // memory-bound, and AlexNet's 57 million parameters took 6% of a step on one thread.
  void step(float* parameters, const float* gradients, float lr, int threads = 1);
  // Segments sorted, disjoint, within [0, n); the parameters outside every segment are
  // updated at the rate itself. ConfigError for overlapping or out-of-range segments.
  void set_segments(std::vector<LrSegment> segments);
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

 private:
  // Updates parameters [begin, end) at rate lr; steps_ already counts this step.
  virtual void update(float* parameters, const float* gradients, float lr, int64_t begin, int64_t end) = 0;

  std::vector<LrSegment> segments_;  // covering [0, n) in order, after set_segments
};

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, int64_t parameter_count);

}  // namespace convoy
