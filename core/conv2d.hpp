// Conv2d: 2-D convolution layer with stride and zero padding (valid, same or explicit).
#pragma once

#include "core/kernels/conv2d_kernels.hpp"
#include "core/layer.hpp"

namespace convoy {

enum class Padding { valid, same, explicit_ };

struct Conv2dOptions {
  int64_t out_channels = 0;
  int64_t kernel = 3;           // square kernel; kernel_h/kernel_w override when non-zero
  int64_t kernel_h = 0, kernel_w = 0;
  int64_t stride = 1;
  Padding padding = Padding::valid;
  int64_t pad = 0;              // per side, when padding is explicit_
  bool bias = true;
  Init init = Init::he_normal;  // He et al. 2015, for ReLU networks
};

// input [N, Cin, H, W] -> output [N, Cout, OH, OW]; weight [Cout, Cin, KH, KW], bias [Cout].
class Conv2d final : public Layer {
 public:
  explicit Conv2d(Conv2dOptions options);

  std::string type() const override { return "conv2d"; }
  std::string describe() const override;
  Shape output_shape(std::span<const Shape> inputs) const override;
  std::vector<ParameterSpec> parameter_specs(std::span<const Shape> inputs) const override;
  void bind_parameters(std::span<Tensor> parameters, std::span<Tensor> gradients) override;
  bool accept_post_op(PostOp op) override;
  int64_t scratch_floats(std::span<const Shape> inputs, int threads) const override;
  double forward_flops(std::span<const Shape> inputs) const override;
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;
  // Note [Folded batch norm]: only without a fused ReLU or pool of its own.
  bool accept_inference_fold() override;
  void forward_folded(std::span<const Tensor> inputs, Tensor& output, const ChannelAffine& fold,
                      const PassContext& ctx) override;

  // The kernel geometry for an input of this shape (validates it).
  Conv2dGeometry geometry(const Shape& input) const;

 private:
  Conv2dOptions options_;
  bool fused_relu_ = false;
  bool fused_pool_ = false;  // Note [Fused pooling]
  Tensor weight_, bias_, weight_grad_, bias_grad_;
  bool folds_ = false;  // Note [Folded batch norm]
  // Which position won each pooled window in the last forward (Note [Fused pooling]); grown
  // by the first forward of a batch size, then reused.
  std::vector<uint8_t> pool_winners_;
};

}  // namespace convoy
