#include "core/dropout.hpp"

#include <cstdio>
#include <vector>

#include "core/error.hpp"
#include "core/kernels/thread_count.hpp"
#include "core/rng.hpp"

namespace convoy {

Dropout::Dropout(DropoutOptions options) : options_(options) {
  CONVOY_CHECK(options_.rate >= 0.0 && options_.rate < 1.0, ConfigError, "dropout: rate must be in [0, 1), found ",
               options_.rate);
}

std::string Dropout::describe() const {
  char text[48];
  std::snprintf(text, sizeof text, "dropout %g", options_.rate);
  return text;
}

Shape Dropout::output_shape(std::span<const Shape> inputs) const {
  CONVOY_CHECK(inputs.size() == 1, ShapeError, "layer ", describe(), ": expected 1 input, found ", inputs.size());
  return inputs[0];
}

void Dropout::apply(const Tensor& in, Tensor& out, const PassContext& ctx) const {
  const int64_t n = in.shape()[0], size = in.numel() / n;
  const float* x = in.data();
  float* y = out.data();
  if (!ctx.training || options_.rate == 0.0) {
    if (y != x) std::copy(x, x + in.numel(), y);
    return;
  }
  const auto p = static_cast<float>(options_.rate);
  const float keep_scale = static_cast<float>(1.0 / (1.0 - options_.rate));
  const uint64_t stream = static_cast<uint64_t>(ctx.step) * 65536 + static_cast<uint64_t>(ctx.layer_index);
#pragma omp parallel num_threads(clamp_threads(ctx.threads, n))
  {
    // A sample's draws a row at a time (random_uniforms), then the mask over them.
    std::vector<float> draws(size);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) {
      const auto base = static_cast<uint64_t>(ctx.first_sample + i) * static_cast<uint64_t>(size);
      random_uniforms(ctx.seed, RandomPurpose::dropout, stream, base, size, draws.data());
      const float* xi = x + i * size;
      float* yi = y + i * size;
#pragma omp simd
      for (int64_t e = 0; e < size; ++e) yi[e] = draws[e] >= p ? xi[e] * keep_scale : 0.0f;
    }
  }
}

void Dropout::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) {
  apply(inputs[0], output, ctx);
}

void Dropout::backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                       std::span<Tensor> input_grads, const PassContext& ctx) {
  if (!input_grads[0].empty()) apply(output_grad, input_grads[0], ctx);
}

}  // namespace convoy
