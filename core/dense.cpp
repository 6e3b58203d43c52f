#include "core/dense.hpp"

#include "core/error.hpp"
#include "core/kernels/gemm.hpp"

namespace convoy {

Dense::Dense(DenseOptions options) : options_(options) {
  CONVOY_CHECK(options_.units > 0, ConfigError, "dense: units must be positive, found ", options_.units);
}

Shape Dense::output_shape(std::span<const Shape> inputs) const {
  check_single_input(*this, inputs, 2);
  return Shape{inputs[0][0], options_.units};
}

std::vector<ParameterSpec> Dense::parameter_specs(std::span<const Shape> inputs) const {
  const int64_t in = inputs[0][1];
  std::vector<ParameterSpec> specs = {{"weight", Shape{in, options_.units}, options_.init, in, options_.units}};
  if (options_.bias) specs.push_back({"bias", Shape{options_.units}, Init::zeros, 0, 0});
  return specs;
}

void Dense::bind_parameters(std::span<Tensor> parameters, std::span<Tensor> gradients) {
  weight_ = parameters[0];
  weight_grad_ = gradients[0];
  if (options_.bias) {
    bias_ = parameters[1];
    bias_grad_ = gradients[1];
  }
}

double Dense::forward_flops(std::span<const Shape> inputs) const {
  return 2.0 * inputs[0][0] * inputs[0][1] * options_.units;
}

void Dense::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) {
  // input [N, in]; weight [in, units]; output [N, units]
  const int64_t n = inputs[0].shape()[0], in = inputs[0].shape()[1], units = options_.units;
  float* out = output.data();
  if (options_.bias) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < units; ++j) out[i * units + j] = bias_[j];
  }
  gemm_parallel(Trans::no, Trans::no, n, units, in, inputs[0].data(), in, weight_.data(), units,
                options_.bias ? 1.0f : 0.0f, out, units, ctx.threads);
}

void Dense::backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                     std::span<Tensor> input_grads, const PassContext& ctx) {
  const int64_t n = inputs[0].shape()[0], in = inputs[0].shape()[1], units = options_.units;
  const float* og = output_grad.data();
  // weight_grad [in, units] += input^T [in, N] * output_grad [N, units]
  gemm_parallel(Trans::yes, Trans::no, in, units, n, inputs[0].data(), in, og, units, 1.0f, weight_grad_.data(),
                units, ctx.threads);
  if (options_.bias) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < units; ++j) bias_grad_[j] += og[i * units + j];
  }
  // input_grad [N, in] = output_grad [N, units] * weight^T [units, in]
  if (!input_grads[0].empty())
    gemm_parallel(Trans::no, Trans::yes, n, in, units, og, units, weight_.data(), units, 0.0f,
                  input_grads[0].data(), in, ctx.threads);
}

}  // namespace convoy
