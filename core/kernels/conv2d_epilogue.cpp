#include "core/kernels/conv2d_epilogue.hpp"

#include <cstring>

#include "core/kernels/relu_max_pool.hpp"

namespace convoy {

void write_output(const Conv2dGeometry& g, const float* z, const float* bias, const Chunk& c, float* output,
                  uint8_t* pool_winners) {
  const int64_t ohw = g.out_pixels(), per_sample = (c.oy1 - c.oy0) * g.out_w;
  const int64_t ld = c.ld(g), pooled = g.pooled_h() * g.pooled_w();
  for (int64_t n = c.n0; n < c.n1; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co) {
      const float* from = z + co * ld + (n - c.n0) * per_sample;
      const float b = bias != nullptr ? bias[co] : 0.0f;
      if (g.fused_pool) {
        const int64_t plane = (n * g.out_channels + co) * pooled;
        relu_max_pool_rows(g, from, c.oy0, c.oy1, b, output + plane, pool_winners + plane);
        continue;
      }
      bias_relu(from, b, g.fused_relu, per_sample, output + (n * g.out_channels + co) * ohw + c.oy0 * g.out_w);
    }
}

void relu_gradient(const Conv2dGeometry& g, const float* output, const float* output_grad, int64_t at, int64_t n,
                   float* __restrict dst) {
  const float* __restrict og = output_grad + at;
  if (!g.fused_relu) {
    std::memcpy(dst, og, n * sizeof(float));
    return;
  }
  const float* __restrict y = output + at;
#pragma omp simd
  for (int64_t p = 0; p < n; ++p) dst[p] = y[p] > 0.0f ? og[p] : 0.0f;
}

void gather_output_grad(const Conv2dGeometry& g, const float* output, const float* output_grad,
                        const uint8_t* pool_winners, const Chunk& c, float* grad, float* bias_sums) {
  const int64_t ohw = g.out_pixels(), per_sample = (c.oy1 - c.oy0) * g.out_w;
  const int64_t ld = c.ld(g), pooled = g.pooled_h() * g.pooled_w();
  for (int64_t n = c.n0; n < c.n1; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co) {
      float* __restrict dst = grad + co * ld + (n - c.n0) * per_sample;
      float sum = 0.0f;
      if (g.fused_pool) {
        const int64_t plane = (n * g.out_channels + co) * pooled;
        sum = unpool_rows(g, pool_winners + plane, output_grad + plane, c.oy0, c.oy1, dst);
      } else {
        const int64_t at = (n * g.out_channels + co) * ohw + c.oy0 * g.out_w;
        relu_gradient(g, output, output_grad, at, per_sample, dst);
        if (bias_sums == nullptr) continue;
#pragma omp simd reduction(+ : sum)
        for (int64_t p = 0; p < per_sample; ++p) sum += dst[p];
      }
      if (bias_sums != nullptr) bias_sums[co] += sum;
    }
}

}  // namespace convoy
