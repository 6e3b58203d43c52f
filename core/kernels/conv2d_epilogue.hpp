// What the GEMM-based convolutions do around their products: the fused bias, ReLU and pool on
// the way out (Note [Fused ReLU], Note [Fused pooling]), and their adjoints on the way back.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/kernels/conv2d_chunks.hpp"
#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// out[p] = from[p] + bias, then max(0, .) with relu, for p in [0, n).
inline void bias_relu(const float* __restrict from, float bias, bool relu, int64_t n, float* __restrict out) {
  if (relu) {
#pragma omp simd
    for (int64_t p = 0; p < n; ++p) out[p] = std::max(from[p] + bias, 0.0f);
  } else {
#pragma omp simd
    for (int64_t p = 0; p < n; ++p) out[p] = from[p] + bias;
  }
}

// The same on y[0, n) in place.
inline void bias_relu_in_place(float bias, bool relu, int64_t n, float* __restrict y) {
  if (relu) {
#pragma omp simd
    for (int64_t p = 0; p < n; ++p) y[p] = std::max(y[p] + bias, 0.0f);
  } else {
#pragma omp simd
    for (int64_t p = 0; p < n; ++p) y[p] += bias;
  }
}

// Writes the chunk's output from z [Cout, c.ld(g)] (the GEMM's result, the chunk's samples side
// by side): + bias, then the fused ReLU, or the fused ReLU and pool (pool_winners then gets the
// codes).
void write_output(const Conv2dGeometry& g, const float* z, const float* bias, const Chunk& c, float* output,
                  uint8_t* pool_winners);

// The gradient reaching the convolution through the fused ReLU (Note [Fused ReLU]): the n floats
// of output_grad from `at` where the output is positive, 0 elsewhere; without the ReLU, a copy
// (output may then be null).
void relu_gradient(const Conv2dGeometry& g, const float* output, const float* output_grad, int64_t at, int64_t n,
                   float* dst);

// Gathers into grad [Cout, c.ld(g)] the gradient reaching the convolution over the chunk:
// output_grad, masked by the fused ReLU's output (Note [Fused ReLU]) or routed through the
// fused pool (Note [Fused pooling]). If bias_sums is not null, adds each sample's per-channel
// gradient sum to it (in sample order), so the bias gradient costs no second pass.
void gather_output_grad(const Conv2dGeometry& g, const float* output, const float* output_grad,
                        const uint8_t* pool_winners, const Chunk& c, float* grad, float* bias_sums);

}  // namespace convoy
