// Dropout: zeroes each element with probability p in training and scales the rest by 1 / (1 - p).
#pragma once

#include "core/layer.hpp"

namespace convoy {

struct DropoutOptions {
  double rate = 0.5;  // p, the probability of dropping an element; in [0, 1)
};

// input -> output of the same shape (any rank). Inverted dropout: inference is the identity.
// The mask is not stored: element e of global sample s keeps its value when
// random_uniform(seed, dropout, step * 2^16 + layer, s * sample_size + e) >= p (Note
// [Counter-based randomness]), a function of the layer's place in the spec rather than of its
// node, so fusion, the thread count and the rank count never change it; backward draws it again.
class Dropout final : public Layer {
 public:
  explicit Dropout(DropoutOptions options);

  std::string type() const override { return "dropout"; }
  std::string describe() const override;
  Shape output_shape(std::span<const Shape> inputs) const override;
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;

 private:
  // out = in * mask / (1 - p) in training, in otherwise.
  void apply(const Tensor& in, Tensor& out, const PassContext& ctx) const;

  DropoutOptions options_;
};

}  // namespace convoy
