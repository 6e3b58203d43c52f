// Layer: the contract every layer of a model implements (shapes, parameters, forward, backward).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/shape.hpp"
#include "core/tensor.hpp"

namespace convoy {

// How a parameter tensor is initialised (fan_in and fan_out in its ParameterSpec).
enum class Init { zeros, ones, he_normal, glorot_uniform };

struct ParameterSpec {
  std::string name;  // "weight", "bias"
  Shape shape;
  Init init = Init::zeros;
  int64_t fan_in = 0;
  int64_t fan_out = 0;
};

// State a layer keeps that is not trained (batch norm's running statistics): it lives in the
// model's buffer store (Note [Buffer store]), starts at `init` and is changed only by forward.
struct BufferSpec {
  std::string name;  // "running_mean"
  Shape shape;
  float init = 0.0f;
};

// A layer the fuse pass may fold into the layer that produces its only input (Note [Post-ops]).
enum class PostOp { relu, max_pool_2x2, residual_add };

// Note [Sums over ranks in a pass]
// A layer whose pass needs a sum over the whole global batch (batch norm's statistics) calls
// ctx.rank_sum: a collective that every rank reaches at the same point of the same pass, even a
// rank with no samples in the step (Layer::pass_without_samples). It adds the ranks' vectors
// in the fixed tree of Note [Fixed summation tree], rank 0 first, so when each rank's value is
// itself a tree sum over whole 8-sample groups, P ranks get the bits of one. The world of one
// (a null rank_sum) is the identity. core never sees MPI: distributed/ implements it.
class RankSum {
 public:
  virtual ~RankSum() = default;
  // values [count]: this rank's on entry, the sum over all ranks on return (the same on each).
  virtual void sum(double* values, int64_t count) const = 0;
};

// What a forward or backward pass may use besides its tensors. Built by the Model.
struct PassContext {
  int threads = 1;        // OpenMP threads this pass may use (static schedule: same bits for same count)
  bool training = true;   // dropout and batch statistics act only when training
  uint64_t seed = 0;      // for counter-based randomness, see Note [Counter-based randomness]
  int64_t step = 0;       // global optimizer step
  int64_t first_sample = 0;  // position of this rank's sample 0 within the global batch
  int layer_index = 0;    // the layer's position in the ModelSpec: its random streams' key, unchanged by fusion
  float* scratch = nullptr;  // at least scratch_floats() floats, 64-byte aligned, contents undefined
  int64_t scratch_floats = 0;  // how many floats scratch holds (for the kernels' debug checks)
  const RankSum* rank_sum = nullptr;  // Note [Sums over ranks in a pass]; null: one rank

  std::span<float> scratch_span() const { return {scratch, static_cast<size_t>(scratch_floats)}; }

  // The sum over ranks of values [count], in place (nothing to do for one rank).
  void sum_over_ranks(double* values, int64_t count) const {
    if (rank_sum != nullptr) rank_sum->sum(values, count);
  }
};

// Note [Layer contract]
// - Shapes include the batch dimension (NCHW, or [N, features] after flatten). A model is built
//   for a maximum batch; passes may run with any smaller N, so layers read N from the input.
// - output_shape validates the inputs and throws ShapeError naming the layer and both shapes.
// - parameter_specs lists the layer's parameters in the order bind_parameters receives them.
//   Parameters and gradients are views into the model's flat stores (Note [Flat parameter store]).
// - forward overwrites output. backward overwrites every non-empty input_grad and *adds* into
//   the parameter gradients (the model zeroes them once per step). An empty input_grad (the
//   model's first layer) need not be computed.
// - Buffers (buffer_specs, bind_buffers) are views into the model's buffer store: forward in
//   training may update them (running statistics); backward and the optimizer never touch them.
// - Passes may run OpenMP regions of ctx.threads threads; they never allocate, except that a
//   layer keeping state from forward for backward (a fused pool's winners) may grow it in the
//   first forward of a larger batch.
class Layer {
 public:
  virtual ~Layer() = default;

  virtual std::string type() const = 0;      // the factory name: "conv2d"
  virtual std::string describe() const = 0;  // one line with the options: "conv2d 32 3x3 /1 valid"

  // How many inputs the layer takes; the model checks this once when it is built.
  virtual int min_inputs() const { return 1; }
  virtual int max_inputs() const { return 1; }

  virtual Shape output_shape(std::span<const Shape> inputs) const = 0;
  virtual std::vector<ParameterSpec> parameter_specs(std::span<const Shape> inputs) const { return {}; }
  virtual void bind_parameters(std::span<Tensor> parameters, std::span<Tensor> gradients) {}
  virtual std::vector<BufferSpec> buffer_specs(std::span<const Shape> inputs) const { return {}; }
  virtual void bind_buffers(std::span<Tensor> buffers) {}
  // Scratch floats a pass needs for inputs of these shapes (the largest batch) and thread count.
  virtual int64_t scratch_floats(std::span<const Shape> inputs, int threads) const { return 0; }
  // Floating-point operations of one forward pass (multiply-add = 2), for benchmarks.
  virtual double forward_flops(std::span<const Shape> inputs) const { return 0.0; }

  // Note [Post-ops]
  // The fuse pass asks a layer what post-op it is (a ReLU is PostOp::relu; a 2x2
  // stride-2 max pool is PostOp::max_pool_2x2), then asks the producer before it to apply that
  // post-op to its own output from now on (Note [Fused ReLU], Note [Fused pooling]); the producer
  // returns true if it did, and its output shape may change. A producer accepts only what it
  // can compute exactly as the separate layers would, and only in the order it supports. A
  // two-input add is PostOp::residual_add: its other input becomes the producer's last input
  // (Note [Fused residual add]).
  virtual std::optional<PostOp> as_post_op() const { return std::nullopt; }
  virtual bool accept_post_op(PostOp op) { return false; }

  // Note [Folded batch norm]
  // In inference, batch norm is an affine map per channel (scale = gamma / sqrt(running_var +
  // eps), shift = beta - running_mean * scale), so a batch norm read from a convolution that
  // nothing else reads is folded into it: the convolution runs with its weights scaled by
  // output channel and scale * bias + shift as its bias, and writes the batch norm's output
  // (with its fused ReLU) in one pass. The fuse pass pairs them (GraphNode::inference_fold);
  // training passes run both layers as before and never see the folded weights, which are
  // written anew each pass into the producer's scratch (no layer keeps a copy of its weights),
  // so training after an evaluation has the same bits. Folded logits
  // differ from the separate layers' by rounding (a test bounds it).
  struct ChannelAffine {
    const float* scale = nullptr;  // [C]
    const float* shift = nullptr;  // [C]
    bool relu = false;             // then max(., 0)
  };
  // A consumer: whether its inference pass is a ChannelAffine of its one input, and that map
  // (from its current parameters and buffers, valid until its next pass).
  virtual bool folds_into_producer() const { return false; }
  virtual ChannelAffine inference_affine() { return {}; }
  // A producer: whether it can run forward_folded; accepting makes room for its folded weights
  // in its scratch_floats. forward_folded overwrites output (the consumer's) with the
  // consumer's map applied to what forward would write.
  virtual bool accept_inference_fold() { return false; }
  virtual void forward_folded(std::span<const Tensor> inputs, Tensor& output, const ChannelAffine& fold,
                              const PassContext& ctx) {}

  virtual void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) = 0;
  virtual void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                        std::span<Tensor> input_grads, const PassContext& ctx) = 0;

  // On a rank with no samples in a step (a short last batch): takes part in the collectives its
  // forward (backward = false) or backward pass would make, contributing nothing
  // (Note [Sums over ranks in a pass]). Layers without such collectives do nothing.
  virtual void pass_without_samples(bool backward, const PassContext& ctx) {}
};

// Checks a single-input layer got exactly one input of the given rank; names the layer otherwise.
void check_single_input(const Layer& layer, std::span<const Shape> inputs, int rank);

}  // namespace convoy
