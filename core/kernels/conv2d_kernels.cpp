#include "core/kernels/conv2d_kernels.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/kernels/cpu_features.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/gemm_dots.hpp"

namespace convoy {
namespace {

// Copies a short row (a convolution output row: 3 to 60 floats, typically). A call to memcpy
// per row cost more than the copy itself; 8-float moves with an overlapping last one do not.
inline void copy_row(const float* __restrict src, int64_t n, float* __restrict dst) {
  if (n >= 8) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) __builtin_memcpy(dst + i, src + i, 8 * sizeof(float));
    if (i < n) __builtin_memcpy(dst + n - 8, src + n - 8, 8 * sizeof(float));
    return;
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = src[i];
}

// Lanes [lo, hi) of a 16-lane mask, clipped to [0, 16).
inline uint32_t lane_range(int64_t lo, int64_t hi) {
  lo = std::clamp<int64_t>(lo, 0, 16);
  hi = std::clamp<int64_t>(hi, lo, 16);
  return ((1u << hi) - 1) & ~((1u << lo) - 1);
}

// Stride-1 im2col of one kernel tap over `rows` output rows: out[r][x] = in[r][x] for
// x0 <= x < x1 and 0 elsewhere, x < out_w (in already shifted by the tap's column). Masked
// loads never touch the lanes outside [x0, x1), so padding needs no separate pass.
__attribute__((target("avx512f"))) void tap_rows_avx512(const float* in, int64_t in_w, int64_t rows, int64_t out_w,
                                                        int64_t x0, int64_t x1, float* out) {
  if (out_w <= 32) {
    // The masks depend on the column only: computed once, out of the row loop.
    const __mmask16 load0 = static_cast<__mmask16>(lane_range(x0, x1));
    const __mmask16 store0 = static_cast<__mmask16>(lane_range(0, out_w));
    const __mmask16 load1 = static_cast<__mmask16>(lane_range(x0 - 16, x1 - 16));
    const __mmask16 store1 = static_cast<__mmask16>(lane_range(0, out_w - 16));
    for (int64_t r = 0; r < rows; ++r) {
      _mm512_mask_storeu_ps(out + r * out_w, store0, _mm512_maskz_loadu_ps(load0, in + r * in_w));
      if (store1 != 0) _mm512_mask_storeu_ps(out + r * out_w + 16, store1, _mm512_maskz_loadu_ps(load1, in + r * in_w + 16));
    }
    return;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t x = 0; x < out_w; x += 16) {
      const __mmask16 load = static_cast<__mmask16>(lane_range(x0 - x, x1 - x));
      const __mmask16 store = static_cast<__mmask16>(lane_range(0, out_w - x));
      _mm512_mask_storeu_ps(out + r * out_w + x, store, _mm512_maskz_loadu_ps(load, in + r * in_w + x));
    }
}

// The adjoint for stride 1, one input channel: plane [H, W] = the sum over kernel taps of the
// tap rows of col that meet each pixel (zero where none do). Each 16-pixel piece of an input
// row is summed in a register from every tap's masked load and stored once: adding into
// memory tap by tap stalls on loads that overlap the previous tap's stores.
__attribute__((target("avx512f"))) void col2im_plane_avx512(const Conv2dGeometry& g, const float* taps, int64_t ld,
                                                            float* plane) {
  for (int64_t iy = 0; iy < g.in_h; ++iy)
    for (int64_t x = 0; x < g.in_w; x += 16) {
      __m512 acc = _mm512_setzero_ps();
      for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const int64_t oy = iy + g.pad_top - kh;
        if (oy < 0 || oy >= g.out_h) continue;
        for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
          // Pixel x + l meets output column x + l + pad_left - kw.
          const int64_t shift = g.pad_left - kw;
          const __mmask16 m = static_cast<__mmask16>(lane_range(-shift - x, g.out_w - shift - x));
          const float* row = taps + (kh * g.kernel_w + kw) * ld + oy * g.out_w + x + shift;
          acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, row));
        }
      }
      _mm512_mask_storeu_ps(plane + iy * g.in_w + x, static_cast<__mmask16>(lane_range(0, g.in_w - x)), acc);
    }
}

// Note [im2col layout]
// col [Cin*KH*KW, OH*OW]: row (c, kh, kw) holds, for every output pixel, the input value that
// kernel tap meets (zero in the padding).
// ld is col's row stride: chunks of samples sit side by side (Note [Sample chunks]).
void im2col(const Conv2dGeometry& g, const float* image, float* col, int64_t ld) {
  const int64_t ohw = ld;
  const bool avx512 = active_isa() == Isa::avx512;
  for (int64_t c = 0; c < g.in_channels; ++c) {
    const float* plane = image + c * g.in_h * g.in_w;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        float* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * ohw;
        if (avx512 && g.stride_h == 1 && g.stride_w == 1) {
          // Rows [y0, y1) meet the image, the others only padding.
          const int64_t y0 = std::clamp<int64_t>(g.pad_top - kh, 0, g.out_h);
          const int64_t y1 = std::clamp<int64_t>(g.in_h + g.pad_top - kh, y0, g.out_h);
          std::fill(row, row + y0 * g.out_w, 0.0f);
          tap_rows_avx512(plane + (y0 - g.pad_top + kh) * g.in_w - g.pad_left + kw, g.in_w, y1 - y0, g.out_w,
                          g.pad_left - kw, g.in_w + g.pad_left - kw, row + y0 * g.out_w);
          std::fill(row + y1 * g.out_w, row + g.out_h * g.out_w, 0.0f);
          continue;
        }
        for (int64_t oy = 0; oy < g.out_h; ++oy) {
          const int64_t iy = oy * g.stride_h - g.pad_top + kh;
          float* out = row + oy * g.out_w;
          if (iy < 0 || iy >= g.in_h) {
            std::fill(out, out + g.out_w, 0.0f);
            continue;
          }
          const float* in = plane + iy * g.in_w;
          if (g.stride_w == 1) {
            // Interior pixels are one contiguous copy; only the edges meet padding.
            const int64_t x0 = std::clamp<int64_t>(g.pad_left - kw, 0, g.out_w);
            const int64_t x1 = std::clamp<int64_t>(g.in_w + g.pad_left - kw, x0, g.out_w);
            std::fill(out, out + x0, 0.0f);
            copy_row(in + x0 - g.pad_left + kw, x1 - x0, out + x0);
            std::fill(out + x1, out + g.out_w, 0.0f);
            continue;
          }
          for (int64_t ox = 0; ox < g.out_w; ++ox) {
            const int64_t ix = ox * g.stride_w - g.pad_left + kw;
            out[ox] = (ix >= 0 && ix < g.in_w) ? in[ix] : 0.0f;
          }
        }
      }
    }
  }
}

// The adjoint of im2col for one sample: image [Cin, H, W] = sum of col entries per input pixel.
void col2im(const Conv2dGeometry& g, const float* col, int64_t ld, float* image) {
  const int64_t ohw = ld;
  if (active_isa() == Isa::avx512 && g.stride_h == 1 && g.stride_w == 1) {
    const int64_t taps = g.kernel_h * g.kernel_w;
    for (int64_t c = 0; c < g.in_channels; ++c)
      col2im_plane_avx512(g, col + c * taps * ohw, ohw, image + c * g.in_h * g.in_w);
    return;
  }
  std::fill(image, image + g.in_channels * g.in_h * g.in_w, 0.0f);
  for (int64_t c = 0; c < g.in_channels; ++c) {
    float* plane = image + c * g.in_h * g.in_w;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const float* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * ohw;
        for (int64_t oy = 0; oy < g.out_h; ++oy) {
          const int64_t iy = oy * g.stride_h - g.pad_top + kh;
          if (iy < 0 || iy >= g.in_h) continue;
          float* __restrict in = plane + iy * g.in_w;
          const float* __restrict out = row + oy * g.out_w;
          if (g.stride_w == 1) {
            const int64_t x0 = std::clamp<int64_t>(g.pad_left - kw, 0, g.out_w);
            const int64_t x1 = std::clamp<int64_t>(g.in_w + g.pad_left - kw, x0, g.out_w);
            float* __restrict shifted = in - g.pad_left + kw;
#pragma omp simd
            for (int64_t ox = x0; ox < x1; ++ox) shifted[ox] += out[ox];
            continue;
          }
          for (int64_t ox = 0; ox < g.out_w; ++ox) {
            const int64_t ix = ox * g.stride_w - g.pad_left + kw;
            if (ix >= 0 && ix < g.in_w) in[ix] += out[ox];
          }
        }
      }
    }
  }
}

// Note [Sample chunks]
// Small outputs (keras-cnn's 3x3) would use a few of the microkernel's 32 lanes, so samples are
// processed in chunks of S placed side by side: col [patch, S*OHW], output and gradient
// [Cout, S*OHW]. S is a power of two up to kWeightGradGroup, so chunks never straddle a
// weight-gradient group, and depends only on the geometry, so the bits do not depend on the
// thread count.
int64_t chunk_samples(const Conv2dGeometry& g) {
  int64_t s = 1;
  while (s < kWeightGradGroup && s * g.out_pixels() < 128) s *= 2;
  return s;
}

// Forward and backward-data are free of that constraint: each output column is summed over
// the depth in one order whatever the chunk, so their chunks may depend on the thread count.
// They take about 512 columns, which fills the microkernel's tiles and amortises packing the
// weights while the chunk's im2col stays in L2, with the chunk count a multiple of the thread
// count so the threads get equal shares.
int64_t pass_chunk_samples(const Conv2dGeometry& g, int threads) {
  const int64_t t = std::max(threads, 1);
  const int64_t columns = g.batch * g.out_pixels();
  const int64_t chunks = t * std::max<int64_t>(1, (columns + 512 * t - 1) / (512 * t));
  return std::max<int64_t>(1, (g.batch + chunks - 1) / chunks);
}

// Gathers the gradient reaching the convolution for samples [n0, n1) into chunk [Cout, S*OHW]:
// output_grad, masked by the fused ReLU's output (Note [Fused ReLU]).
// If bias_sums is not null, adds each sample's per-channel gradient sum to it (in sample
// order), so the bias gradient costs no second pass over the activations.
void gather_output_grad(const Conv2dGeometry& g, const float* output, const float* output_grad, int64_t n0,
                        int64_t n1, float* chunk, float* bias_sums) {
  const int64_t ohw = g.out_pixels(), ld = (n1 - n0) * ohw;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co) {
      const float* og = output_grad + (n * g.out_channels + co) * ohw;
      float* dst = chunk + co * ld + (n - n0) * ohw;
      if (g.fused_relu) {
        const float* y = output + (n * g.out_channels + co) * ohw;
#pragma omp simd
        for (int64_t p = 0; p < ohw; ++p) dst[p] = y[p] > 0.0f ? og[p] : 0.0f;
      } else {
        std::memcpy(dst, og, ohw * sizeof(float));
      }
      if (bias_sums != nullptr) {
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t p = 0; p < ohw; ++p) sum += dst[p];
        bias_sums[co] += sum;
      }
    }
}

int clamp_threads(int threads, int64_t work_items) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, work_items)));
}

int64_t groups(const Conv2dGeometry& g) { return (g.batch + kWeightGradGroup - 1) / kWeightGradGroup; }

// Per-thread scratch: one chunk's im2col matrix and one chunk's output or gradient.
int64_t per_thread_floats(const Conv2dGeometry& g, int threads) {
  const int64_t cols = std::max(chunk_samples(g), pass_chunk_samples(g, threads)) * g.out_pixels();
  return (g.patch() * cols + g.out_channels * cols + 15) / 16 * 16;
}

// Writes into grad [Cout, S*OHW] the gradient reaching the convolution of samples [n0, n1):
// each pooled gradient goes to the position its window's winner code names, everything else
// is 0 (Note [Fused pooling]). Adds per-channel sums to bias_sums if it is not null.
void unpool_output_grad(const Conv2dGeometry& g, const uint8_t* winners, const float* output_grad, int64_t n0,
                        int64_t n1, float* grad, float* bias_sums) {
  const int64_t ohw = g.out_pixels(), ld = (n1 - n0) * ohw, ph = g.pooled_h(), pw = g.pooled_w();
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co) {
      float* gp = grad + co * ld + (n - n0) * ohw;
      const int64_t plane = (n * g.out_channels + co) * ph * pw;
      const float* og = output_grad + plane;
      const uint8_t* code = winners + plane;
      std::fill(gp, gp + ohw, 0.0f);
      float sum = 0.0f;
      for (int64_t oy = 0; oy < ph; ++oy)
        for (int64_t ox = 0; ox < pw; ++ox) {
          // Branch-free: a window the ReLU zeroed (kNoWinner) writes 0 over its top-left 0.
          const uint8_t w = code[oy * pw + ox];
          const float v = w != kNoWinner ? og[oy * pw + ox] : 0.0f;
          gp[(2 * oy + (w >> 1 & 1)) * g.out_w + 2 * ox + (w & 1)] = v;
          sum += v;
        }
      if (bias_sums != nullptr) bias_sums[co] += sum;
    }
}

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
    __m512i code = _mm512_set1_epi32(3);
    code = _mm512_mask_mov_epi32(code, _mm512_cmp_ps_mask(v2, m, _CMP_EQ_OQ), _mm512_set1_epi32(2));
    code = _mm512_mask_mov_epi32(code, _mm512_cmp_ps_mask(v1, m, _CMP_EQ_OQ), _mm512_set1_epi32(1));
    code = _mm512_mask_mov_epi32(code, _mm512_cmp_ps_mask(v0, m, _CMP_EQ_OQ), _mm512_setzero_si512());
    code = _mm512_mask_mov_epi32(_mm512_set1_epi32(kNoWinner), _mm512_cmp_ps_mask(y, zero, _CMP_GT_OQ), code);
    _mm512_mask_storeu_ps(output + ox, out_mask, y);
    _mm512_mask_cvtepi32_storeu_epi8(winners + ox, out_mask, code);
  }
}

// Pools one channel of one sample: z [OH, OW] (before the bias) -> output [OH/2, OW/2] and
// winners [OH/2, OW/2].
void pool_plane(const Conv2dGeometry& g, const float* z, float b, float* output, uint8_t* winners) {
  const int64_t ph = g.pooled_h(), pw = g.pooled_w();
  const bool avx512 = active_isa() == Isa::avx512;
  for (int64_t oy = 0; oy < ph; ++oy) {
    const float* top = z + 2 * oy * g.out_w;
    if (avx512)
      pool_row_pair_avx512(top, top + g.out_w, pw, b, output + oy * pw, winners + oy * pw);
    else
      pool_row_pair(top, top + g.out_w, pw, b, output + oy * pw, winners + oy * pw);
  }
}

}  // namespace

// One weight-gradient group's partial sums: dW^T [patch, Cout], then the bias [Cout].
int64_t partial_floats(const Conv2dGeometry& g) { return (g.patch() + 1) * g.out_channels; }

int64_t conv2d_scratch_floats(const Conv2dGeometry& g, int threads) {
  // Per thread: col + output/gradient chunk; then one partial per weight-gradient group.
  return static_cast<int64_t>(std::max(threads, 1)) * per_thread_floats(g, threads) + groups(g) * partial_floats(g);
}

void conv2d_forward(const Conv2dGeometry& g, const float* input, const float* weight, const float* bias,
                    float* output, float* scratch, int threads, uint8_t* pool_winners) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const int64_t ohw = g.out_pixels();
  const int64_t s = pass_chunk_samples(g, threads), chunks = (g.batch + s - 1) / s;
#pragma omp parallel num_threads(clamp_threads(threads, chunks))
  {
    float* col = scratch + omp_get_thread_num() * per_thread_floats(g, threads);
    float* out = col + g.patch() * s * ohw;
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t n0 = c * s, n1 = std::min(g.batch, n0 + s), ld = (n1 - n0) * ohw;
      for (int64_t n = n0; n < n1; ++n) im2col(g, input + n * in_size, col + (n - n0) * ohw, ld);
      // out [Cout, S*OHW] = weight [Cout, patch] * col [patch, S*OHW]; one sample writes in place.
      float* result = n1 - n0 == 1 && !g.fused_pool ? output + n0 * g.out_channels * ohw : out;
      gemm(Trans::no, Trans::no, g.out_channels, ld, g.patch(), weight, g.patch(), col, ld, 0.0f, result, ld);
      if (g.fused_pool) {
        const int64_t pooled = g.pooled_h() * g.pooled_w();
        for (int64_t n = n0; n < n1; ++n)
          for (int64_t co = 0; co < g.out_channels; ++co) {
            const int64_t plane = (n * g.out_channels + co) * pooled;
            pool_plane(g, result + co * ld + (n - n0) * ohw, bias != nullptr ? bias[co] : 0.0f, output + plane,
                       pool_winners + plane);
          }
        continue;
      }
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t co = 0; co < g.out_channels; ++co) {
          const float* from = result + co * ld + (n - n0) * ohw;
          float* o = output + (n * g.out_channels + co) * ohw;
          const float b = bias != nullptr ? bias[co] : 0.0f;
          if (g.fused_relu) {
#pragma omp simd
            for (int64_t p = 0; p < ohw; ++p) o[p] = std::max(from[p] + b, 0.0f);
          } else {
#pragma omp simd
            for (int64_t p = 0; p < ohw; ++p) o[p] = from[p] + b;
          }
        }
    }
  }
}

void conv2d_backward_data(const Conv2dGeometry& g, const float* output, const float* output_grad,
                          const float* weight, float* input_grad, float* scratch, int threads,
                          const uint8_t* pool_winners) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const int64_t ohw = g.out_pixels();
  const int64_t s = pass_chunk_samples(g, threads), chunks = (g.batch + s - 1) / s;
#pragma omp parallel num_threads(clamp_threads(threads, chunks))
  {
    float* col = scratch + omp_get_thread_num() * per_thread_floats(g, threads);
    float* og = col + g.patch() * s * ohw;
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t n0 = c * s, n1 = std::min(g.batch, n0 + s), ld = (n1 - n0) * ohw;
      if (g.fused_pool) {
        unpool_output_grad(g, pool_winners, output_grad, n0, n1, og, nullptr);
      } else {
        gather_output_grad(g, output, output_grad, n0, n1, og, nullptr);
      }
      // col [patch, S*OHW] = weight^T [patch, Cout] * output_grad [Cout, S*OHW]
      gemm(Trans::yes, Trans::no, g.patch(), ld, g.out_channels, weight, g.patch(), og, ld, 0.0f, col, ld);
      for (int64_t n = n0; n < n1; ++n) col2im(g, col + (n - n0) * ohw, ld, input_grad + n * in_size);
    }
  }
}

void conv2d_backward_weights(const Conv2dGeometry& g, const float* input, const float* output,
                             const float* output_grad, float* weight_grad, float* bias_grad, float* scratch,
                             int threads, const uint8_t* pool_winners) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const int64_t ohw = g.out_pixels(), patch = g.patch(), cout = g.out_channels;
  const int64_t s = chunk_samples(g);
  const int64_t group_count = groups(g);
  float* partials = scratch + static_cast<int64_t>(std::max(threads, 1)) * per_thread_floats(g, threads);
#pragma omp parallel num_threads(clamp_threads(threads, group_count))
  {
    float* col = scratch + omp_get_thread_num() * per_thread_floats(g, threads);
    float* og = col + patch * s * ohw;
    // Note [Weight-gradient groups]: each group's partial dW^T [patch, Cout] sums its chunks
    // in order; written by one thread; the groups are added in order below.
#pragma omp for schedule(static)
    for (int64_t group = 0; group < group_count; ++group) {
      float* partial = partials + group * partial_floats(g);
      float* bias_sums = partial + patch * cout;
      std::fill(bias_sums, bias_sums + cout, 0.0f);
      const int64_t g0 = group * kWeightGradGroup, g1 = std::min(g.batch, g0 + kWeightGradGroup);
      for (int64_t n0 = g0; n0 < g1; n0 += s) {
        const int64_t n1 = std::min(g1, n0 + s), ld = (n1 - n0) * ohw;
        for (int64_t n = n0; n < n1; ++n) im2col(g, input + n * in_size, col + (n - n0) * ohw, ld);
        if (g.fused_pool)
          unpool_output_grad(g, pool_winners, output_grad, n0, n1, og, bias_sums);
        else
          gather_output_grad(g, output, output_grad, n0, n1, og, bias_sums);
        // partial [patch, Cout] (+)= col [patch, S*OHW] * output_grad^T [S*OHW, Cout]
        const float beta = n0 == g0 ? 0.0f : 1.0f;
        if (prefer_gemm_dots(patch, cout, ld))
          gemm_dots(patch, cout, ld, col, ld, og, ld, beta, partial, cout);
        else
          gemm(Trans::no, Trans::yes, patch, cout, ld, col, ld, og, ld, beta, partial, cout);
      }
    }
    // weight_grad [Cout, patch] and bias_grad [Cout] += the groups' partials in group order,
    // each element by one thread.
#pragma omp for schedule(static)
    for (int64_t co = 0; co < cout; ++co) {
      float* wg = weight_grad + co * patch;
      for (int64_t group = 0; group < group_count; ++group) {
        const float* partial = partials + group * partial_floats(g);
        for (int64_t k = 0; k < patch; ++k) wg[k] += partial[k * cout + co];
        if (bias_grad != nullptr) bias_grad[co] += partial[patch * cout + co];
      }
    }
  }
}

}  // namespace convoy
