// BatchNorm: normalisation over the batch per channel (after conv) or per feature (after dense).
#pragma once

#include <vector>

#include "core/layer.hpp"

namespace convoy {

struct BatchNormOptions {
  double momentum = 0.1;   // running = (1 - momentum) * running + momentum * batch (PyTorch's convention)
  double epsilon = 1e-5;
  bool affine = true;      // learn weight (gamma) and bias (beta)
};

// input [N, C, H, W] or [N, C] -> output of the same shape. Parameters weight [C] (ones) and
// bias [C] (zeros) when affine; buffers running_mean [C] (zeros) and running_var [C] (ones).
// Training: normalises with the mean and biased variance of the whole global batch (Note
// [Batch statistics in the tree]; two sums over ranks in forward, one in backward) and updates
// the running statistics with the unbiased variance, as PyTorch does. Inference: uses the
// running statistics.
class BatchNorm final : public Layer {
 public:
  explicit BatchNorm(BatchNormOptions options);

  std::string type() const override { return "batch_norm"; }
  std::string describe() const override;
  Shape output_shape(std::span<const Shape> inputs) const override;
  std::vector<ParameterSpec> parameter_specs(std::span<const Shape> inputs) const override;
  void bind_parameters(std::span<Tensor> parameters, std::span<Tensor> gradients) override;
  std::vector<BufferSpec> buffer_specs(std::span<const Shape> inputs) const override;
  void bind_buffers(std::span<Tensor> buffers) override;
  int64_t scratch_floats(std::span<const Shape> inputs, int threads) const override;
  double forward_flops(std::span<const Shape> inputs) const override;
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;
  void pass_without_samples(bool backward, const PassContext& ctx) override;
  // A ReLU after the normalisation (Note [Post-ops]): applied as the output is written, and its
  // gradient mask (the output > 0) applied as backward reads the output gradient. Before it, a
  // residual add (Note [Fused residual add]): the layer then takes the add's other input as
  // input 1, adds it as it writes, and writes its gradient in the input-gradient pass.
  bool accept_post_op(PostOp op) override;
  // Note [Folded batch norm]: without a fused residual add, inference is a channel affine map.
  bool folds_into_producer() const override { return !fused_add_; }
  ChannelAffine inference_affine() override;

 private:
  // scale_ and shift_ from the running statistics (and the affine parameters).
  void running_affine();
  // The global batch's mean and inverse standard deviation into mean_ and inv_std_ (x may be
  // null when n == 0), and the running statistics updated. Collective.
  void batch_statistics(const float* x, int64_t n, int64_t plane, const PassContext& ctx);
  // The global sums of dy and dy * xhat into mean_dy_ and mean_dy_xhat_ (as means); the
  // parameter gradients get this rank's sums. Collective.
  void gradient_statistics(const float* dy, const float* gate, const float* x, int64_t n, int64_t plane,
                           const PassContext& ctx);

  BatchNormOptions options_;
  int64_t channels_ = 0;
  bool fused_relu_ = false;
  bool fused_add_ = false;
  Tensor weight_, bias_, weight_grad_, bias_grad_, running_mean_, running_var_;
  // Per channel, sized when bound: the last training forward's statistics and the affine map.
  std::vector<float> mean_, inv_std_, scale_, shift_, mean_dy_, mean_dy_xhat_;
  std::vector<double> sums_;  // [2 C + 1]
  double count_ = 0.0;        // elements per channel in the global batch
};

}  // namespace convoy
