// Model: a DAG of layers built from a ModelSpec for a maximum batch, owning the flat
// parameter and gradient stores and every activation buffer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/layer.hpp"
#include "core/model_spec.hpp"

namespace convoy {

// Note [Flat parameter store]
// All parameters live in one 64-byte aligned float buffer, gradients in a second with the same
// layout; each parameter starts on a 64-byte boundary. Layers hold views (bind_parameters).
// Parameters are laid out in layer order, so backward (last layer first) finishes gradients
// from the end of the buffer toward the start: after layer i, every gradient at or above the
// offset of layer i's first parameter is final. The gradient reducer starts all-reducing those
// buckets while backward goes on.
//
// Note [Buffer store]
// State that is not trained (batch norm's running mean and variance) lives in a third flat
// store with the same alignment, in layer order: the optimizer, weight decay and the gradient
// reducer never see it. Training forward passes update it; the trainer broadcasts rank 0's at
// start, checkpoints save it beside the parameters, and its shapes are part of the fingerprint.

struct LayerInfo {
  std::string name, description;
  std::string type;                 // the factory name of the (producing) layer: "conv2d"
  std::vector<std::string> inputs;  // the layers it reads; empty for the model input
  Shape output;                // at the maximum batch
  int64_t parameters = 0;      // element count
  int64_t parameter_offset = 0;
  int64_t buffers = 0;         // element count of its buffers (Note [Buffer store])
  double forward_flops = 0.0;  // at the maximum batch
};

// One parameter or buffer of a layer, viewed in the model's stores (for export and import).
struct NamedTensor {
  std::string layer;  // the layer's name in the spec
  std::string name;   // "weight", "bias", "running_mean", ...
  Shape shape;
  float* data;
  bool buffer;        // in the buffer store (Note [Buffer store]), not trained
};

class Model {
 public:
  // Three passes: build the layers and check every shape (build_graph: errors name the layer),
  // fuse post-ops into their producers (fuse_graph; false keeps every layer separate, for
  // tests), then plan all memory for batches of up to max_batch samples run with up to
  // `threads` threads (plan).
  Model(const ModelSpec& spec, int64_t max_batch, int threads, bool fuse = true);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelSpec& spec() const { return spec_; }
  int64_t max_batch() const { return max_batch_; }
  int threads() const { return threads_; }
  int64_t parameter_count() const { return parameter_count_; }
  // Floats of the shared pool the layers' output gradients live in (Note [Gradient buffers]).
  int64_t gradient_pool_floats() const { return gradient_slot_offsets_.back(); }
  float* parameters() { return parameters_.get(); }
  const float* parameters() const { return parameters_.get(); }
  float* gradients() { return gradients_.get(); }
  const float* gradients() const { return gradients_.get(); }
  int64_t buffer_count() const { return buffer_count_; }  // padded size of the buffer store
  float* buffers() { return buffers_.get(); }
  const float* buffers() const { return buffers_.get(); }
  const std::vector<LayerInfo>& layers() const { return info_; }
  // Every parameter and buffer, layer by layer in spec order, parameters before buffers.
  std::vector<NamedTensor> named_tensors();

  // Fills the parameters from the counter-based RNG (Note [Counter-based randomness]) and sets
  // every buffer to its initial value.
  void initialize(uint64_t seed);
  // A hash of the spec and the parameter and buffer shapes: equal for models that can share
  // checkpoints.
  uint64_t fingerprint() const;
  // A table of layers, output shapes and parameter counts, and a total line.
  std::string summary() const;

  // input [n, C, H, W] with n <= max_batch; returns the last layer's output [n, classes],
  // valid until the next forward.
  const Tensor& forward(const Tensor& input, const PassContext& ctx);
  // Zeroes the gradients and back-propagates output_grad [n, classes] of the last forward.
  // After each layer, calls gradients_ready(offset): gradients at index >= offset are final.
  void backward(const Tensor& output_grad, const PassContext& ctx,
                const std::function<void(int64_t)>& gradients_ready = {});

  // On a rank with no samples in a training step: joins every collective the layers' forward and
  // backward passes make (Note [Sums over ranks in a pass]); parameter gradients are not touched.
  void pass_without_samples(const PassContext& ctx);

  // Per-layer seconds of forward and backward, summed since the last reset (for convoy bench).
  void set_profiling(bool on);
  const std::vector<double>& forward_seconds() const { return forward_seconds_; }
  const std::vector<double>& backward_seconds() const { return backward_seconds_; }

 private:
  struct Node;

  // The plan pass: offsets in the flat stores, activation and gradient buffers, scratch, and
  // where backward writes each input gradient; binds every layer's views.
  void plan();
  void plan_gradients();  // Note [Gradient buffers]
  void bind_stores();

  ModelSpec spec_;
  int64_t max_batch_;
  int threads_;
  Shape input_shape_;  // [max_batch, C, H, W]
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<LayerInfo> info_;
  int64_t parameter_count_ = 0;  // padded size of the flat store
  int64_t buffer_count_ = 0;
  int64_t scratch_floats_ = 0;
  int fanout_slots_ = 0;  // input gradients one layer may have to add into an already written one
  int64_t fanout_floats_ = 0;                   // each: the largest output read by more than one layer
  std::vector<int64_t> gradient_slot_offsets_;  // Note [Gradient buffers]: slot s at [s], its end at [s + 1]
  std::shared_ptr<float[]> parameters_, gradients_, buffers_, scratch_, fanout_grad_, gradient_pool_;
  Tensor output_;
  bool profiling_ = false;
  std::vector<double> forward_seconds_, backward_seconds_;
};

}  // namespace convoy
