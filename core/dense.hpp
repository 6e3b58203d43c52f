// Dense: fully connected layer, output = input * weight + bias.
#pragma once

#include "core/layer.hpp"

namespace convoy {

struct DenseOptions {
  int64_t units = 0;
  bool bias = true;
  Init init = Init::he_normal;  // He et al. 2015, for ReLU networks
};

// input [N, in] -> output [N, units]; weight [in, units] (Keras layout), bias [units].
class Dense final : public Layer {
 public:
  explicit Dense(DenseOptions options);

  std::string type() const override { return "dense"; }
  std::string describe() const override { return "dense " + std::to_string(options_.units); }
  Shape output_shape(std::span<const Shape> inputs) const override;
  std::vector<ParameterSpec> parameter_specs(std::span<const Shape> inputs) const override;
  void bind_parameters(std::span<Tensor> parameters, std::span<Tensor> gradients) override;
  // Note [Fixed summation tree]: the weight and bias gradients are summed per group of
  // kWeightGradGroup samples and the groups in the tree, in tiles of the weight so the scratch
  // stays bounded (kTileFloats per thread) however large the layer.
  int64_t scratch_floats(std::span<const Shape> inputs, int threads) const override;
  double forward_flops(std::span<const Shape> inputs) const override;
  void forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) override;
  void backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                std::span<Tensor> input_grads, const PassContext& ctx) override;

 private:
  DenseOptions options_;
  Tensor weight_, bias_, weight_grad_, bias_grad_;
};

}  // namespace convoy
