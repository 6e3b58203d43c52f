// Concat: inputs joined along the channel axis (an inception module's branches).
#pragma once

#include "core/layer.hpp"

namespace convoy {

// inputs [N, C_i, H, W] (or [N, C_i]) with equal N, H, W -> output [N, sum C_i, H, W], the
// inputs' channels in input order. Backward copies each input's channel slice of output_grad.
class Concat final : public Layer {
 public:
  std::string type() const override { return "concat"; }
  std::string describe() const override { return "concat"; }
  int min_inputs() const override { return 2; }
  int max_inputs() const override { return 64; }
  Shape output_shape(std::span<const Shape> inputs) const override;
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;
};

}  // namespace convoy
