#include "core/adaptive_avg_pool.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/thread_count.hpp"

namespace convoy {
namespace {

// The input rows (or columns) [begin, end) output cell i of `out` averages over `in`.
int64_t window_begin(int64_t i, int64_t in, int64_t out) { return i * in / out; }
int64_t window_end(int64_t i, int64_t in, int64_t out) { return ((i + 1) * in + out - 1) / out; }

}  // namespace

AdaptiveAvgPool2d::AdaptiveAvgPool2d(AdaptiveAvgPoolOptions options) : options_(options) {
  if (options_.global) options_.out_h = options_.out_w = 1;
  CONVOY_CHECK(options_.out_h > 0 && options_.out_w > 0, ConfigError, type(), ": output size must be positive, found ",
               options_.out_h, "x", options_.out_w);
}

std::string AdaptiveAvgPool2d::describe() const {
  if (options_.global) return "global_avg_pool2d";
  return "adaptive_avg_pool2d " + std::to_string(options_.out_h) + "x" + std::to_string(options_.out_w);
}

Shape AdaptiveAvgPool2d::output_shape(std::span<const Shape> inputs) const {
  check_single_input(*this, inputs, 4);
  const Shape& in = inputs[0];
  if (options_.global) return Shape{in[0], in[1]};
  return Shape{in[0], in[1], options_.out_h, options_.out_w};
}

void AdaptiveAvgPool2d::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) {
  // x [N, C, H, W] -> y [N, C, OH, OW]
  const Shape& s = inputs[0].shape();
  const int64_t planes = s[0] * s[1], h = s[2], w = s[3], oh = options_.out_h, ow = options_.out_w;
  const float* x = inputs[0].data();
  float* y = output.data();
#pragma omp parallel for num_threads(clamp_threads(ctx.threads, planes)) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t r0 = window_begin(i, h, oh), r1 = window_end(i, h, oh);
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t c0 = window_begin(j, w, ow), c1 = window_end(j, w, ow);
        float sum = 0.0f;
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c) sum += x[(p * h + r) * w + c];
        y[(p * oh + i) * ow + j] = sum / static_cast<float>((r1 - r0) * (c1 - c0));
      }
    }
  }
}

void AdaptiveAvgPool2d::backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                                 std::span<Tensor> input_grads, const PassContext& ctx) {
  if (input_grads[0].empty()) return;
  // dy [N, C, OH, OW] -> dx [N, C, H, W]; each plane is one thread's, so overlapping windows add safely.
  const Shape& s = inputs[0].shape();
  const int64_t planes = s[0] * s[1], h = s[2], w = s[3], oh = options_.out_h, ow = options_.out_w;
  const float* dy = output_grad.data();
  float* dx = input_grads[0].data();
#pragma omp parallel for num_threads(clamp_threads(ctx.threads, planes)) schedule(static)
  for (int64_t p = 0; p < planes; ++p) {
    std::fill(dx + p * h * w, dx + (p + 1) * h * w, 0.0f);
    for (int64_t i = 0; i < oh; ++i) {
      const int64_t r0 = window_begin(i, h, oh), r1 = window_end(i, h, oh);
      for (int64_t j = 0; j < ow; ++j) {
        const int64_t c0 = window_begin(j, w, ow), c1 = window_end(j, w, ow);
        const float g = dy[(p * oh + i) * ow + j] / static_cast<float>((r1 - r0) * (c1 - c0));
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c) dx[(p * h + r) * w + c] += g;
      }
    }
  }
}

}  // namespace convoy
