// PadShortcut: the parameter-free residual shortcut of He et al. 2015 (option A).
#pragma once

#include "core/layer.hpp"

namespace convoy {

struct PadShortcutOptions {
  int64_t out_channels = 0;  // more than the input's; the extra channels are zeros, split evenly before and after
  int64_t stride = 2;        // keeps every stride-th row and column, from the first
};

// input [N, C, H, W] -> output [N, out_channels, ceil(H / stride), ceil(W / stride)]:
// y[n, c + (out_channels - C) / 2, i, j] = x[n, c, i * stride, j * stride], zeros elsewhere,
// as the CIFAR ResNets' x[:, :, ::2, ::2] padded with (out - C) / 2 channels of zeros each side.
class PadShortcut final : public Layer {
 public:
  explicit PadShortcut(PadShortcutOptions options);

  std::string type() const override { return "pad_shortcut"; }
  std::string describe() const override;
  Shape output_shape(std::span<const Shape> inputs) const override;
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;

 private:
  PadShortcutOptions options_;
};

}  // namespace convoy
