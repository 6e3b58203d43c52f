// Pool2d: max and average pooling over 2-D windows with stride and zero padding.
#pragma once

#include "core/kernels/pool2d_kernels.hpp"
#include "core/layer.hpp"

namespace convoy {

enum class PoolMode { max, average };

struct Pool2dOptions {
  PoolMode mode = PoolMode::max;
  int64_t window = 2;
  int64_t stride = 0;  // 0 = the window (non-overlapping), as in Keras and PyTorch
  int64_t pad = 0;     // per side; must be less than the window
  bool ceil_mode = false;  // count a partial last window (PyTorch ceil_mode)
};

// input [N, C, H, W] -> output [N, C, OH, OW], OH = floor((H + 2 pad - window) / stride) + 1.
class Pool2d final : public Layer {
 public:
  explicit Pool2d(Pool2dOptions options);

  std::string type() const override { return options_.mode == PoolMode::max ? "max_pool2d" : "avg_pool2d"; }
  std::string describe() const override;
  std::optional<PostOp> as_post_op() const override;
  Shape output_shape(std::span<const Shape> inputs) const override;
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;

  Pool2dGeometry geometry(const Shape& input) const;

 private:
  Pool2dOptions options_;
};

}  // namespace convoy
