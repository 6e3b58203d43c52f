// ReLU and 2x2 max pool fused into a convolution's output pass (Note [Fused pooling]).
#pragma once

#include <cstdint>

#include "core/kernels/conv2d_kernels.hpp"
#include "core/kernels/simd.hpp"

namespace convoy {

// One channel of one sample. z holds the convolution's output rows [oy0, oy1) before the bias
// (row stride OW; oy0 even). Writes pooled rows [oy0/2, min(oy1/2, PH)) of output [PH, PW] =
// max(max of the window + bias, 0) and of winners [PH, PW] (the window's first maximum, or
// kNoWinner where the ReLU gave 0).
void relu_max_pool_rows(const Conv2dGeometry& g, const float* z, int64_t oy0, int64_t oy1, float bias, float* output,
                        uint8_t* winners);

// The adjoint for the same rows: grad [oy1 - oy0, OW] (overwritten) gets each pooled gradient
// of output_grad [PH, PW] at its winner's position and 0 elsewhere. Returns the sum of grad.
float unpool_rows(const Conv2dGeometry& g, const uint8_t* winners, const float* output_grad, int64_t oy0, int64_t oy1,
                  float* grad);

// The winner codes of 16 windows from their four values v0..v3 (top-left, top-right,
// bottom-left, bottom-right), their maximum m and the pooled output y: the first position
// equal to m, or kNoWinner where y is not positive.
__attribute__((target("avx512f"))) inline __m512i window_winners(__m512 v0, __m512 v1, __m512 v2, __m512 m,
                                                                 __m512 y) {
  __m512i code = _mm512_set1_epi32(3);
  code = _mm512_mask_mov_epi32(code, _mm512_cmp_ps_mask(v2, m, _CMP_EQ_OQ), _mm512_set1_epi32(2));
  code = _mm512_mask_mov_epi32(code, _mm512_cmp_ps_mask(v1, m, _CMP_EQ_OQ), _mm512_set1_epi32(1));
  code = _mm512_mask_mov_epi32(code, _mm512_cmp_ps_mask(v0, m, _CMP_EQ_OQ), _mm512_setzero_si512());
  return _mm512_mask_mov_epi32(_mm512_set1_epi32(kNoWinner), _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_GT_OQ),
                               code);
}

}  // namespace convoy
