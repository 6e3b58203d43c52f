// Add: the element-wise sum of two or more inputs of one shape (a residual connection).
#pragma once

#include "core/layer.hpp"

namespace convoy {

// inputs x_0 ... x_k-1, all the same shape -> output x_0 + x_1 + ... summed in input order.
// Backward copies output_grad to every input gradient. A ReLU after it (a residual block's
// last) may be fused (Note [Post-ops]): the sum is clamped as it is written, and backward
// copies the gradient where the output is positive, zeros elsewhere.
class Add final : public Layer {
 public:
  std::string type() const override { return "add"; }
  std::string describe() const override { return fused_relu_ ? "add + relu" : "add"; }
  bool accept_post_op(PostOp op) override;
  // Of two inputs, foldable into the producer of one of them (Note [Fused residual add]).
  std::optional<PostOp> as_post_op() const override { return PostOp::residual_add; }
  int min_inputs() const override { return 2; }
  int max_inputs() const override { return 64; }
  Shape output_shape(std::span<const Shape> inputs) const override;
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;

 private:
  bool fused_relu_ = false;
};

}  // namespace convoy
