#include "core/add.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/thread_count.hpp"

namespace convoy {
namespace {

constexpr int64_t kChunk = 4096;  // floats per parallel work item

}  // namespace

Shape Add::output_shape(std::span<const Shape> inputs) const {
  CONVOY_CHECK(inputs.size() >= 2, ShapeError, "add: expected 2 or more inputs, found ", inputs.size());
  for (size_t i = 1; i < inputs.size(); ++i)
    CONVOY_CHECK(inputs[i] == inputs[0], ShapeError, "add: input ", i, " is ", inputs[i].str(), ", input 0 is ",
                 inputs[0].str(), " (all inputs must have one shape)");
  return inputs[0];
}

bool Add::accept_post_op(PostOp op) {
  if (op != PostOp::relu || fused_relu_) return false;
  return fused_relu_ = true;
}

void Add::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) {
  const int64_t total = output.numel(), chunks = (total + kChunk - 1) / kChunk;
  float* y = output.data();
#pragma omp parallel for num_threads(clamp_threads(ctx.threads, chunks)) schedule(static)
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t begin = k * kChunk, end = std::min(total, begin + kChunk);
    const float* a = inputs[0].data();
#pragma omp simd
    for (int64_t e = begin; e < end; ++e) y[e] = a[e];
    for (size_t i = 1; i < inputs.size(); ++i) {
      const float* b = inputs[i].data();
#pragma omp simd
      for (int64_t e = begin; e < end; ++e) y[e] += b[e];
    }
    if (fused_relu_) {
#pragma omp simd
      for (int64_t e = begin; e < end; ++e) y[e] = y[e] > 0.0f ? y[e] : 0.0f;
    }
  }
}

void Add::backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                   std::span<Tensor> input_grads, const PassContext& ctx) {
  const int64_t total = output_grad.numel(), chunks = (total + kChunk - 1) / kChunk;
  const float* dy = output_grad.data();
  const float* y = output.data();
#pragma omp parallel for num_threads(clamp_threads(ctx.threads, chunks)) schedule(static)
  for (int64_t k = 0; k < chunks; ++k) {
    const int64_t begin = k * kChunk, end = std::min(total, begin + kChunk);
    for (Tensor& g : input_grads) {
      if (g.empty()) continue;
      float* dx = g.data();
      if (fused_relu_) {
        // dy read whatever y is: a blend of vectors, not a conditional load with a branch.
#pragma omp simd
        for (int64_t e = begin; e < end; ++e) {
          const float g = dy[e];
          dx[e] = y[e] > 0.0f ? g : 0.0f;
        }
      } else {
        std::copy(dy + begin, dy + end, dx + begin);
      }
    }
  }
}

}  // namespace convoy
