// Flatten: [N, C, H, W] -> [N, C*H*W] in NCHW order (PyTorch's order, not Keras's NHWC).
#pragma once

#include "core/layer.hpp"

namespace convoy {

class Flatten final : public Layer {
 public:
  std::string type() const override { return "flatten"; }
  std::string describe() const override { return "flatten"; }
  Shape output_shape(std::span<const Shape> inputs) const override;
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;
};

}  // namespace convoy
