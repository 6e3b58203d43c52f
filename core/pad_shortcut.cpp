#include "core/pad_shortcut.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/thread_count.hpp"

namespace convoy {

PadShortcut::PadShortcut(PadShortcutOptions options) : options_(options) {
  CONVOY_CHECK(options_.stride > 0, ConfigError, "pad_shortcut: stride must be positive, found ", options_.stride);
}

std::string PadShortcut::describe() const {
  return "pad_shortcut " + std::to_string(options_.out_channels) + " stride " + std::to_string(options_.stride);
}

Shape PadShortcut::output_shape(std::span<const Shape> inputs) const {
  check_single_input(*this, inputs, 4);
  const Shape& in = inputs[0];
  CONVOY_CHECK(options_.out_channels >= in[1] && (options_.out_channels - in[1]) % 2 == 0, ShapeError, "layer ",
               describe(), ": expected out_channels >= the input's ", in[1],
               " channels and an even number of extra channels, found ", options_.out_channels);
  const int64_t s = options_.stride;
  return Shape{in[0], options_.out_channels, (in[2] + s - 1) / s, (in[3] + s - 1) / s};
}

void PadShortcut::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) {
  // x [N, C, H, W] -> y [N, OC, OH, OW]
  const Shape& in = inputs[0].shape();
  const Shape& out = output.shape();
  const int64_t c_in = in[1], h = in[2], w = in[3], oc = out[1], oh = out[2], ow = out[3], s = options_.stride;
  const int64_t before = (oc - c_in) / 2, planes = out[0] * oc;
  const float* x = inputs[0].data();
  float* y = output.data();
#pragma omp parallel for num_threads(clamp_threads(ctx.threads, planes)) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t n = p / oc, c = p % oc - before;
    float* dst = y + p * oh * ow;
    if (c < 0 || c >= c_in) {
      std::fill(dst, dst + oh * ow, 0.0f);
      continue;
    }
    const float* src = x + (n * c_in + c) * h * w;
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) dst[i * ow + j] = src[i * s * w + j * s];
  }
}

void PadShortcut::backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                           std::span<Tensor> input_grads, const PassContext& ctx) {
  if (input_grads[0].empty()) return;
  // dy [N, OC, OH, OW] -> dx [N, C, H, W]
  const Shape& in = inputs[0].shape();
  const Shape& out = output_grad.shape();
  const int64_t c_in = in[1], h = in[2], w = in[3], oc = out[1], oh = out[2], ow = out[3], s = options_.stride;
  const int64_t before = (oc - c_in) / 2, planes = in[0] * c_in;
  const float* dy = output_grad.data();
  float* dx = input_grads[0].data();
#pragma omp parallel for num_threads(clamp_threads(ctx.threads, planes)) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    const int64_t n = p / c_in, c = p % c_in;
    float* dst = dx + p * h * w;
    std::fill(dst, dst + h * w, 0.0f);
    const float* src = dy + (n * oc + c + before) * oh * ow;
    for (int64_t i = 0; i < oh; ++i)
      for (int64_t j = 0; j < ow; ++j) dst[i * s * w + j * s] = src[i * ow + j];
  }
}

}  // namespace convoy
