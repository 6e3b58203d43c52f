// ReLU: output = max(input, 0).
#pragma once

#include "core/layer.hpp"

namespace convoy {

class Relu final : public Layer {
 public:
  std::string type() const override { return "relu"; }
  std::string describe() const override { return "relu"; }
  std::optional<PostOp> as_post_op() const override { return PostOp::relu; }
  Shape output_shape(std::span<const Shape> inputs) const override;
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  // The gradient passes where the output is positive (0 at input 0, as in PyTorch).
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;
};

}  // namespace convoy
