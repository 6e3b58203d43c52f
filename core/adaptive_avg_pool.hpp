// AdaptiveAvgPool2d: average pooling to a fixed output size (AlexNet's 6x6), or global (to [N, C]).
#pragma once

#include "core/layer.hpp"

namespace convoy {

struct AdaptiveAvgPoolOptions {
  int64_t out_h = 1, out_w = 1;
  bool global = false;  // 1x1 and flattened: [N, C, H, W] -> [N, C] (Keras' GlobalAveragePooling2D)
};

// input [N, C, H, W] -> output [N, C, out_h, out_w] ([N, C] when global). Output cell (i, j)
// averages rows [floor(i H / out_h), ceil((i + 1) H / out_h)) and the same for columns, as
// PyTorch's AdaptiveAvgPool2d does, so windows may overlap or differ in size.
class AdaptiveAvgPool2d final : public Layer {
 public:
  explicit AdaptiveAvgPool2d(AdaptiveAvgPoolOptions options);

  std::string type() const override { return options_.global ? "global_avg_pool2d" : "adaptive_avg_pool2d"; }
  std::string describe() const override;
  Shape output_shape(std::span<const Shape> inputs) const override;
  double forward_flops(std::span<const Shape> inputs) const override { return static_cast<double>(inputs[0].numel()); }
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;

 private:
  AdaptiveAvgPoolOptions options_;
};

}  // namespace convoy
