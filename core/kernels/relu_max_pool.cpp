#include "core/kernels/relu_max_pool.hpp"

#include <algorithm>

#include "core/kernels/cpu_features.hpp"
#include "core/kernels/simd.hpp"

namespace convoy {
namespace {

// Pools one row pair: top and bottom rows of z (before the bias) -> output [PW] and winners [PW].
// The first maximum in row-major order wins, as max_pool2d's backward has it. In arithmetic,
// not branches: which position wins is data, and mispredictions cost more than the pass.
void pool_row_pair(const float* top, const float* bottom, int64_t pw, float b, float* output, uint8_t* winners) {
  for (int64_t ox = 0; ox < pw; ++ox) {
    const float v0 = top[2 * ox], v1 = top[2 * ox + 1], v2 = bottom[2 * ox], v3 = bottom[2 * ox + 1];
    const float m = std::max(std::max(v0, v1), std::max(v2, v3));
    const float y = std::max(m + b, 0.0f);
    const int not0 = v0 != m, not1 = v1 != m, not2 = v2 != m;
    output[ox] = y;
    winners[ox] = static_cast<uint8_t>(y > 0.0f ? not0 * (1 + not1 * (1 + not2)) : kNoWinner);
  }
}

// The same, 16 windows at a time: even and odd columns are separated with two permutes.
__attribute__((target("avx512f"))) void pool_row_pair_avx512(const float* top, const float* bottom, int64_t pw,
                                                             float b, float* output, uint8_t* winners) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512 bias = _mm512_set1_ps(b), zero = _mm512_setzero_ps();
  for (int64_t ox = 0; ox < pw; ox += 16) {
    const int64_t n = std::min<int64_t>(16, pw - ox), floats = 2 * n;
    const __mmask16 lo = floats >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << floats) - 1);
    const __mmask16 hi = floats <= 16 ? 0 : static_cast<__mmask16>((1u << (floats - 16)) - 1);
    const __mmask16 out_mask = static_cast<__mmask16>((1u << n) - 1);
    const float* t = top + 2 * ox;
    const float* u = bottom + 2 * ox;
    const __m512 t0 = _mm512_maskz_loadu_ps(lo, t), t1 = _mm512_maskz_loadu_ps(hi, t + 16);
    const __m512 u0 = _mm512_maskz_loadu_ps(lo, u), u1 = _mm512_maskz_loadu_ps(hi, u + 16);
    const __m512 v0 = _mm512_permutex2var_ps(t0, even, t1), v1 = _mm512_permutex2var_ps(t0, odd, t1);
    const __m512 v2 = _mm512_permutex2var_ps(u0, even, u1), v3 = _mm512_permutex2var_ps(u0, odd, u1);
    const __m512 m = _mm512_max_ps(_mm512_max_ps(v0, v1), _mm512_max_ps(v2, v3));
    const __m512 y = _mm512_max_ps(_mm512_add_ps(m, bias), zero);
    const __m512i code = window_winners(v0, v1, v2, m, y);
    _mm512_mask_storeu_ps(output + ox, out_mask, y);
    _mm512_mask_cvtepi32_storeu_epi8(winners + ox, out_mask, code);
  }
}

// One row pair of the adjoint, 16 windows at a time: each window's gradient is spread to both
// columns of its pair and kept in the row and column its winner code names. Writes both rows
// in full (OW columns), so no separate zeroing pass; adds the gradients routed to sum.
// Reads 16 codes at a time, past the row's end (Note [Fused pooling]: the buffer has slack).
__attribute__((target("avx512f"))) void unpool_row_pair_avx512(const uint8_t* winners, const float* output_grad,
                                                               int64_t pw, int64_t out_w, float* top, float* bottom,
                                                               __m512& sum) {
  const __m512i first_half = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
  const __m512i second_half = _mm512_add_epi32(first_half, _mm512_set1_epi32(8));
  const __m512i column = _mm512_setr_epi32(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1);
  const __m512i column_below = _mm512_add_epi32(column, _mm512_set1_epi32(2));
  const __m512i none = _mm512_set1_epi32(kNoWinner);
  for (int64_t px = 0; px < pw || 2 * px < out_w; px += 16) {
    const __mmask16 windows = static_cast<__mmask16>(px < pw ? (pw - px >= 16 ? 0xFFFF : (1u << (pw - px)) - 1) : 0);
    // Windows past the last one (an odd last column) route nothing: code kNoWinner.
    const __m512i loaded = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(winners + px)));
    const __m512i code = _mm512_mask_mov_epi32(none, windows, loaded);
    const __m512 v = _mm512_maskz_loadu_ps(_mm512_cmpneq_epi32_mask(code, none), output_grad + px);
    sum = _mm512_add_ps(sum, v);
    for (int half = 0; half < 2; ++half) {
      const int64_t x = 2 * px + 16 * half;
      if (x >= out_w) break;
      const __m512i spread = half == 0 ? first_half : second_half;
      const __m512 g = _mm512_permutexvar_ps(spread, v);
      const __m512i c = _mm512_permutexvar_epi32(spread, code);
      const __mmask16 store = static_cast<__mmask16>(out_w - x >= 16 ? 0xFFFF : (1u << (out_w - x)) - 1);
      _mm512_mask_storeu_ps(top + x, store, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(c, column), g));
      _mm512_mask_storeu_ps(bottom + x, store, _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(c, column_below), g));
    }
  }
}

__attribute__((target("avx512f"))) float unpool_rows_avx512(const Conv2dGeometry& g, const uint8_t* winners,
                                                            const float* output_grad, int64_t oy0, int64_t py1,
                                                            float* grad) {
  const int64_t pw = g.pooled_w();
  __m512 sum = _mm512_setzero_ps();
  for (int64_t py = oy0 / 2; py < py1; ++py) {
    float* top = grad + (2 * py - oy0) * g.out_w;
    unpool_row_pair_avx512(winners + py * pw, output_grad + py * pw, pw, g.out_w, top, top + g.out_w, sum);
  }
  return _mm512_reduce_add_ps(sum);
}

}  // namespace

void relu_max_pool_rows(const Conv2dGeometry& g, const float* z, int64_t oy0, int64_t oy1, float bias, float* output,
                        uint8_t* winners) {
  const int64_t pw = g.pooled_w(), py1 = std::min(oy1 / 2, g.pooled_h());
  const bool avx512 = active_isa() == Isa::avx512;
  for (int64_t py = oy0 / 2; py < py1; ++py) {
    const float* top = z + (2 * py - oy0) * g.out_w;
    if (avx512)
      pool_row_pair_avx512(top, top + g.out_w, pw, bias, output + py * pw, winners + py * pw);
    else
      pool_row_pair(top, top + g.out_w, pw, bias, output + py * pw, winners + py * pw);
  }
}

float unpool_rows(const Conv2dGeometry& g, const uint8_t* winners, const float* output_grad, int64_t oy0, int64_t oy1,
                  float* grad) {
  const int64_t pw = g.pooled_w(), py1 = std::min(oy1 / 2, g.pooled_h());
  if (active_isa() == Isa::avx512) {
    const float sum = unpool_rows_avx512(g, winners, output_grad, oy0, py1, grad);
    // An odd last row belongs to no window.
    std::fill(grad + (2 * py1 - oy0) * g.out_w, grad + (oy1 - oy0) * g.out_w, 0.0f);
    return sum;
  }
  std::fill(grad, grad + (oy1 - oy0) * g.out_w, 0.0f);
  float sum = 0.0f;
  for (int64_t py = oy0 / 2; py < py1; ++py)
    for (int64_t px = 0; px < pw; ++px) {
      // Branch-free: a window the ReLU zeroed (kNoWinner) writes 0 over its top-left 0.
      const uint8_t w = winners[py * pw + px];
      const float v = w != kNoWinner ? output_grad[py * pw + px] : 0.0f;
      grad[(2 * py - oy0 + (w >> 1 & 1)) * g.out_w + 2 * px + (w & 1)] = v;
      sum += v;
    }
  return sum;
}

}  // namespace convoy
