#include "core/kernels/im2col.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/kernels/cpu_features.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/gemm_microkernels.hpp"
#include "core/kernels/lane_mask.hpp"
#include "core/kernels/simd.hpp"

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

// Stride-1 im2col of one kernel tap over `rows` output rows: out[r][x] = in[r][x] for
// x0 <= x < x1 and 0 elsewhere, x < out_w (in already shifted by the tap's column). Masked
// loads never touch the lanes outside [x0, x1), so padding needs no separate pass.
__attribute__((target("avx512f"))) void tap_rows_avx512(const float* in, int64_t in_w, int64_t rows, int64_t out_w,
                                                        int64_t x0, int64_t x1, float* out) {
  // The masks depend on the column only: computed once, out of the row loop.
  constexpr int64_t kMaxVectors = 16;
  const int64_t vectors = (out_w + 15) / 16;
  if (vectors > kMaxVectors) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t x = 0; x < out_w; x += 16) {
        const __mmask16 load = static_cast<__mmask16>(lane_range(x0 - x, x1 - x));
        const __mmask16 store = static_cast<__mmask16>(lane_range(0, out_w - x));
        _mm512_mask_storeu_ps(out + r * out_w + x, store, _mm512_maskz_loadu_ps(load, in + r * in_w + x));
      }
    return;
  }
  __mmask16 load[kMaxVectors], store[kMaxVectors];
  for (int64_t v = 0; v < vectors; ++v) {
    load[v] = static_cast<__mmask16>(lane_range(x0 - 16 * v, x1 - 16 * v));
    store[v] = static_cast<__mmask16>(lane_range(0, out_w - 16 * v));
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < vectors; ++v)
      _mm512_mask_storeu_ps(out + r * out_w + 16 * v, store[v], _mm512_maskz_loadu_ps(load[v], in + r * in_w + 16 * v));
}

// Stride-2 im2col of one output row: out[x] = in[2x] for x < out_w, 0 where 2x falls outside
// [lo, hi) (in already shifted by the tap's column; [lo, hi) the input row in those units).
// Two masked loads of 16 and one permute take 16 outputs; the scalar loop with a bounds check
// per element was a quarter of a 3x3/2 layer's three passes (ResNet's 64->128 at 56x56).
__attribute__((target("avx512f"))) void stride2_row_avx512(const float* in, int64_t lo, int64_t hi, int64_t out_w,
                                                           float* out) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t x = 0; x < out_w; x += 16) {
    const int64_t i = 2 * x;
    const __m512 a = _mm512_maskz_loadu_ps(static_cast<__mmask16>(lane_range(lo - i, hi - i)), in + i);
    const __m512 b = _mm512_maskz_loadu_ps(static_cast<__mmask16>(lane_range(lo - i - 16, hi - i - 16)), in + i + 16);
    _mm512_mask_storeu_ps(out + x, static_cast<__mmask16>(lane_range(0, out_w - x)),
                          _mm512_permutex2var_ps(a, even, b));
  }
}

// Stride-2 im2col of one kernel tap over `rows` output rows, row r from in + r * row_step (in
// already shifted by the tap's column and row): as stride2_row_avx512 per row, with the masks
// made once per tap, out of the row loop. Called per row, the mask arithmetic took longer than
// the gather on resnet20's rows of 16 and 8 outputs.
__attribute__((target("avx512f"))) void tap_rows_stride2_avx512(const float* in, int64_t row_step, int64_t rows,
                                                                int64_t lo, int64_t hi, int64_t out_w, float* out) {
  constexpr int64_t kMaxVectors = 16;
  const int64_t vectors = (out_w + 15) / 16;
  if (vectors > kMaxVectors) {
    for (int64_t r = 0; r < rows; ++r) stride2_row_avx512(in + r * row_step, lo, hi, out_w, out + r * out_w);
    return;
  }
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  __mmask16 first[kMaxVectors], second[kMaxVectors], store[kMaxVectors];
  for (int64_t v = 0; v < vectors; ++v) {
    const int64_t i = 32 * v;
    first[v] = static_cast<__mmask16>(lane_range(lo - i, hi - i));
    second[v] = static_cast<__mmask16>(lane_range(lo - i - 16, hi - i - 16));
    store[v] = static_cast<__mmask16>(lane_range(0, out_w - 16 * v));
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < vectors; ++v) {
      const float* at = in + r * row_step + 32 * v;
      const __m512 a = _mm512_maskz_loadu_ps(first[v], at), b = _mm512_maskz_loadu_ps(second[v], at + 16);
      _mm512_mask_storeu_ps(out + r * out_w + 16 * v, store[v], _mm512_permutex2var_ps(a, even, b));
    }
}

// The adjoint for stride 2 across (any stride down), one input channel, output rows [oy0, oy1):
// plane += every tap row of col that meets it. As col2im_plane_avx512 for stride 1, each
// 16-pixel piece of an input row is summed in a register and stored once; a tap's piece is one
// masked load of its output row and a permute that spreads 8 outputs over every other pixel.
// The taps are added in the order (kh, kw) and only into the lanes they meet, so the sums are
// those of the scalar loop, bit for bit. What is the same for every channel is made once.
struct Stride2Spread {
  static constexpr int64_t kMaxMasks = 256, kMaxSources = 4096;
  int64_t pieces = 0;
  // Per (kw, piece): output column base[t] is lane 0 of the load; lane l of the piece (pixel
  // 16 v + l) takes load lane index[t][l] where it meets the tap.
  int64_t base[kMaxMasks];
  uint16_t load[kMaxMasks], meets[kMaxMasks];
  alignas(64) int32_t index[kMaxMasks][16];
  // Input row iy is met by the output rows and kernel rows sources[first[iy] .. first[iy + 1]),
  // in kernel-row order.
  int32_t first[kMaxSources + 1];
  struct Source {
    int32_t kh, oy;
  } sources[kMaxSources];

  // False when the geometry does not fit the tables.
  bool make(const Conv2dGeometry& g, int64_t oy0, int64_t oy1) {
    pieces = (g.in_w + 15) / 16;
    if (pieces * g.kernel_w > kMaxMasks || g.in_h * g.kernel_h > kMaxSources) return false;
    for (int64_t kw = 0; kw < g.kernel_w; ++kw)
      for (int64_t v = 0; v < pieces; ++v) {
        const int64_t t = kw * pieces + v, from = 16 * v + g.pad_left - kw;
        base[t] = from >= 0 ? from / 2 : -((1 - from) / 2);  // floor(from / 2)
        load[t] = lane_range(-base[t], g.out_w - base[t]);
        meets[t] = 0;
        for (int64_t l = 0; l < 16; ++l) {
          const int64_t twice = from + l;  // twice the output column pixel 16 v + l meets
          const bool met = 16 * v + l < g.in_w && twice >= 0 && twice % 2 == 0 && twice / 2 < g.out_w;
          index[t][l] = met ? static_cast<int32_t>(twice / 2 - base[t]) : 0;
          meets[t] |= static_cast<uint16_t>(met ? 1u << l : 0u);
        }
      }
    int64_t count = 0;
    for (int64_t iy = 0; iy < g.in_h; ++iy) {
      first[iy] = static_cast<int32_t>(count);
      for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const int64_t step = iy + g.pad_top - kh;
        if (step >= 0 && step % g.stride_h == 0 && step / g.stride_h >= oy0 && step / g.stride_h < oy1)
          sources[count++] = {static_cast<int32_t>(kh), static_cast<int32_t>(step / g.stride_h - oy0)};
      }
    }
    first[g.in_h] = static_cast<int32_t>(count);
    return true;
  }
};

__attribute__((target("avx512f"))) void col2im_plane_stride2_avx512(const Conv2dGeometry& g, const Stride2Spread& s,
                                                                    const float* taps, int64_t ld, float* plane) {
  for (int64_t iy = 0; iy < g.in_h; ++iy) {
    if (s.first[iy] == s.first[iy + 1]) continue;
    float* row = plane + iy * g.in_w;
    for (int64_t v = 0; v < s.pieces; ++v) {
      const __mmask16 inside = static_cast<__mmask16>(lane_range(0, g.in_w - 16 * v));
      __m512 sum = _mm512_maskz_loadu_ps(inside, row + 16 * v);
      for (int32_t k = s.first[iy]; k < s.first[iy + 1]; ++k) {
        const float* out_row = taps + s.sources[k].kh * g.kernel_w * ld + s.sources[k].oy * g.out_w;
        for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
          const int64_t t = kw * s.pieces + v;
          const __m512 outputs = _mm512_maskz_loadu_ps(s.load[t], out_row + kw * ld + s.base[t]);
          sum = _mm512_mask_add_ps(sum, s.meets[t], sum, _mm512_permutexvar_ps(_mm512_load_si512(s.index[t]), outputs));
        }
      }
      _mm512_mask_storeu_ps(row + 16 * v, inside, sum);
    }
  }
}

// The adjoint for stride 1, one input channel, output rows [oy0, oy1): plane [H, W] += the
// sum over kernel taps of the tap rows of col that meet each pixel. Each 16-pixel piece of an
// input row is summed in a register from every tap's masked load and stored once: adding into
// memory tap by tap stalls on loads that overlap the previous tap's stores.
__attribute__((target("avx512f"))) void col2im_plane_avx512(const Conv2dGeometry& g, const float* taps, int64_t ld,
                                                            int64_t oy0, int64_t oy1, bool accumulate, float* plane) {
  // Which lanes of the 16-pixel piece v of an input row tap column kw meets, computed once:
  // pixel x + l meets output column x + l + pad_left - kw.
  constexpr int64_t kMaxMasks = 256;
  const int64_t pieces = (g.in_w + 15) / 16;
  __mmask16 masks[kMaxMasks];
  const bool table = pieces * g.kernel_w <= kMaxMasks;
  if (table)
    for (int64_t kw = 0; kw < g.kernel_w; ++kw)
      for (int64_t v = 0; v < pieces; ++v)
        masks[kw * pieces + v] = static_cast<__mmask16>(lane_range(kw - g.pad_left - 16 * v, g.out_w + kw - g.pad_left - 16 * v));
  const int64_t iy0 = std::max<int64_t>(0, oy0 - g.pad_top);
  const int64_t iy1 = std::max(iy0, std::min<int64_t>(g.in_h, oy1 - 1 - g.pad_top + g.kernel_h));
  if (!accumulate) {
    std::fill(plane, plane + iy0 * g.in_w, 0.0f);
    std::fill(plane + iy1 * g.in_w, plane + g.in_h * g.in_w, 0.0f);
  }
  if (g.kernel_w == 3 && table) {
    // The common 3-wide kernel: one accumulator per kernel column, so three short chains of
    // dependent adds instead of one of 3 * KH, and no per-tap address or mask arithmetic.
    const int64_t shift0 = g.pad_left;
    for (int64_t iy = iy0; iy < iy1; ++iy) {
      const int64_t kh0 = std::max<int64_t>(0, iy + g.pad_top - oy1 + 1);
      const int64_t kh1 = std::min<int64_t>(g.kernel_h, iy + g.pad_top - oy0 + 1);
      for (int64_t v = 0; v < pieces; ++v) {
        const int64_t x = 16 * v;
        const __mmask16 store = static_cast<__mmask16>(lane_range(0, g.in_w - x));
        const __mmask16 m0 = masks[v], m1 = masks[pieces + v], m2 = masks[2 * pieces + v];
        __m512 a0 = accumulate ? _mm512_maskz_loadu_ps(store, plane + iy * g.in_w + x) : _mm512_setzero_ps();
        __m512 a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps();
        for (int64_t kh = kh0; kh < kh1; ++kh) {
          const float* row = taps + kh * 3 * ld + (iy + g.pad_top - kh - oy0) * g.out_w + x + shift0;
          a0 = _mm512_add_ps(a0, _mm512_maskz_loadu_ps(m0, row));
          a1 = _mm512_add_ps(a1, _mm512_maskz_loadu_ps(m1, row + ld - 1));
          a2 = _mm512_add_ps(a2, _mm512_maskz_loadu_ps(m2, row + 2 * ld - 2));
        }
        _mm512_mask_storeu_ps(plane + iy * g.in_w + x, store, _mm512_add_ps(_mm512_add_ps(a0, a1), a2));
      }
    }
    return;
  }
  for (int64_t iy = iy0; iy < iy1; ++iy)
    for (int64_t v = 0; v < pieces; ++v) {
      const int64_t x = 16 * v;
      const __mmask16 store = static_cast<__mmask16>(lane_range(0, g.in_w - x));
      // Overwriting skips loading the row: a masked load overlapping the previous row's
      // masked store waits for that store to retire.
      __m512 acc = accumulate ? _mm512_maskz_loadu_ps(store, plane + iy * g.in_w + x) : _mm512_setzero_ps();
      for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const int64_t oy = iy + g.pad_top - kh;
        if (oy < oy0 || oy >= oy1) continue;
        for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
          const int64_t shift = g.pad_left - kw;
          const __mmask16 m = table ? masks[kw * pieces + v]
                                    : static_cast<__mmask16>(lane_range(-shift - x, g.out_w - shift - x));
          const float* row = taps + (kh * g.kernel_w + kw) * ld + (oy - oy0) * g.out_w + x + shift;
          acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(m, row));
        }
      }
      _mm512_mask_storeu_ps(plane + iy * g.in_w + x, store, acc);
    }
}

// Note [Small planes]
// Late layers have tiny planes (keras-cnn's third convolution: 5x5 in, 3x3 out), where a
// masked copy per output row moves 3 floats. When a plane fits two registers (32 pixels) and
// its output one (16), each tap row of col is instead one permute of the plane: lane p takes
// input pixel idx[tap][p], or 0 where the tap meets padding. col2im runs the inverse
// permutation of each tap and adds.
constexpr int64_t kMaxSmallTaps = 64;

bool small_plane(const Conv2dGeometry& g, int64_t oy0, int64_t oy1) {
  return active_isa() == Isa::avx512 && g.in_h * g.in_w <= 32 && g.out_pixels() <= 16 && oy0 == 0 &&
         oy1 == g.out_h && g.kernel_h * g.kernel_w <= kMaxSmallTaps;
}

// For each tap, which input pixel output pixel p meets (-1: padding).
void small_plane_taps(const Conv2dGeometry& g, int32_t (*pixel)[16]) {
  for (int64_t kh = 0; kh < g.kernel_h; ++kh)
    for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
      int32_t* at = pixel[kh * g.kernel_w + kw];
      for (int64_t p = 0; p < 16; ++p) {
        const int64_t oy = p / g.out_w, ox = p % g.out_w;
        const int64_t iy = oy * g.stride_h - g.pad_top + kh, ix = ox * g.stride_w - g.pad_left + kw;
        const bool inside = p < g.out_pixels() && iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w;
        at[p] = inside ? static_cast<int32_t>(iy * g.in_w + ix) : -1;
      }
    }
}

__attribute__((target("avx512f"))) void im2col_small_avx512(const Conv2dGeometry& g, const float* image, float* col,
                                                            int64_t ld) {
  const int64_t taps = g.kernel_h * g.kernel_w, pixels = g.in_h * g.in_w;
  int32_t pixel[kMaxSmallTaps][16];
  small_plane_taps(g, pixel);
  __m512i index[kMaxSmallTaps];
  __mmask16 inside[kMaxSmallTaps];
  for (int64_t t = 0; t < taps; ++t) {
    index[t] = _mm512_loadu_si512(pixel[t]);
    inside[t] = _mm512_cmpge_epi32_mask(index[t], _mm512_setzero_si512());
  }
  const __mmask16 lo = static_cast<__mmask16>(lane_range(0, pixels)), hi = static_cast<__mmask16>(lane_range(0, pixels - 16));
  const __mmask16 store = static_cast<__mmask16>(lane_range(0, g.out_pixels()));
  for (int64_t c = 0; c < g.in_channels; ++c) {
    const float* plane = image + c * pixels;
    const __m512 a = _mm512_maskz_loadu_ps(lo, plane), b = _mm512_maskz_loadu_ps(hi, plane + 16);
    for (int64_t t = 0; t < taps; ++t)
      _mm512_mask_storeu_ps(col + (c * taps + t) * ld, store, _mm512_maskz_permutex2var_ps(inside[t], a, index[t], b));
  }
}

__attribute__((target("avx512f"))) void col2im_small_avx512(const Conv2dGeometry& g, const float* col, int64_t ld,
                                                            float* image) {
  const int64_t taps = g.kernel_h * g.kernel_w, pixels = g.in_h * g.in_w;
  int32_t pixel[kMaxSmallTaps][16];
  small_plane_taps(g, pixel);
  // The inverse: for input pixel q (two registers of 16), the output pixel meeting it per tap.
  int32_t source[2][16];
  __m512i index[kMaxSmallTaps][2];
  __mmask16 meets[kMaxSmallTaps][2];
  for (int64_t t = 0; t < taps; ++t) {
    uint32_t bits[2] = {0, 0};
    std::fill(&source[0][0], &source[0][0] + 32, 0);
    for (int32_t p = 0; p < 16; ++p)
      if (pixel[t][p] >= 0) {
        source[pixel[t][p] / 16][pixel[t][p] % 16] = p;
        bits[pixel[t][p] / 16] |= 1u << (pixel[t][p] % 16);
      }
    for (int h = 0; h < 2; ++h) {
      index[t][h] = _mm512_loadu_si512(source[h]);
      meets[t][h] = static_cast<__mmask16>(bits[h]);
    }
  }
  const __mmask16 lo = static_cast<__mmask16>(lane_range(0, pixels)), hi = static_cast<__mmask16>(lane_range(0, pixels - 16));
  const __mmask16 load = static_cast<__mmask16>(lane_range(0, g.out_pixels()));
  for (int64_t c = 0; c < g.in_channels; ++c) {
    float* plane = image + c * pixels;
    __m512 a = _mm512_maskz_loadu_ps(lo, plane), b = _mm512_maskz_loadu_ps(hi, plane + 16);
    for (int64_t t = 0; t < taps; ++t) {
      const __m512 row = _mm512_maskz_loadu_ps(load, col + (c * taps + t) * ld);
      a = _mm512_add_ps(a, _mm512_maskz_permutexvar_ps(meets[t][0], index[t][0], row));
      b = _mm512_add_ps(b, _mm512_maskz_permutexvar_ps(meets[t][1], index[t][1], row));
    }
    _mm512_mask_storeu_ps(plane, lo, a);
    _mm512_mask_storeu_ps(plane + 16, hi, b);
  }
}

}  // namespace

void im2col(const Conv2dGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* col, int64_t ld) {
  if (small_plane(g, oy0, oy1)) return im2col_small_avx512(g, image, col, ld);
  const bool avx512 = active_isa() == Isa::avx512;
  const int64_t rows = oy1 - oy0;
  for (int64_t c = 0; c < g.in_channels; ++c) {
    const float* plane = image + c * g.in_h * g.in_w;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        float* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * ld;
        if (avx512 && g.stride_w == 2) {
          // Output rows [y0, y1) meet the image (input row oy * stride_h - pad_top + kh), the others
          // only padding.
          const auto first_row = [&](int64_t iy) {  // the first output row at or past input row iy
            const int64_t from = iy + g.pad_top - kh;
            return std::clamp<int64_t>(from <= 0 ? 0 : (from + g.stride_h - 1) / g.stride_h, oy0, oy1);
          };
          const int64_t y0 = first_row(0), y1 = std::max(y0, first_row(g.in_h));
          std::fill(row, row + (y0 - oy0) * g.out_w, 0.0f);
          tap_rows_stride2_avx512(plane + (y0 * g.stride_h - g.pad_top + kh) * g.in_w - g.pad_left + kw,
                                  g.stride_h * g.in_w, y1 - y0, g.pad_left - kw, g.in_w + g.pad_left - kw, g.out_w,
                                  row + (y0 - oy0) * g.out_w);
          std::fill(row + (y1 - oy0) * g.out_w, row + rows * g.out_w, 0.0f);
          continue;
        }
        if (avx512 && g.stride_h == 1 && g.stride_w == 1) {
          // Rows [y0, y1) meet the image, the others only padding.
          const int64_t y0 = std::clamp<int64_t>(g.pad_top - kh, oy0, oy1);
          const int64_t y1 = std::clamp<int64_t>(g.in_h + g.pad_top - kh, y0, oy1);
          std::fill(row, row + (y0 - oy0) * g.out_w, 0.0f);
          tap_rows_avx512(plane + (y0 - g.pad_top + kh) * g.in_w - g.pad_left + kw, g.in_w, y1 - y0, g.out_w,
                          g.pad_left - kw, g.in_w + g.pad_left - kw, row + (y0 - oy0) * g.out_w);
          std::fill(row + (y1 - oy0) * g.out_w, row + rows * g.out_w, 0.0f);
          continue;
        }
        for (int64_t oy = oy0; oy < oy1; ++oy) {
          const int64_t iy = oy * g.stride_h - g.pad_top + kh;
          float* out = row + (oy - oy0) * g.out_w;
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

bool use_shifted_rows(const Conv2dGeometry& g) {
  // Wide rows only: the junk columns are KW - 1 of every Wp. Forward needs gemm_rows.
  return active_isa() == Isa::avx512 && gemm_rows_supported() && g.stride_h == 1 && g.stride_w == 1 &&
         g.out_w >= 32 && !g.fused_pool;
}

int64_t shifted_rows_floats(const Conv2dGeometry& g, int64_t band_rows) {
  const int64_t band_floats = (band_rows + g.kernel_h - 1) * (g.out_w + g.kernel_w - 1);
  return g.in_channels * std::max(g.kernel_w * band_floats, 2 * (band_floats + g.kernel_w + 15));
}

int64_t padded_band_length(const Conv2dGeometry& g, int64_t band_rows) {
  // The last pixel's KW - 1 neighbours are zeros too.
  return (band_rows + g.kernel_h - 1) * (g.out_w + g.kernel_w - 1) + g.kernel_w - 1;
}

void padded_band(const Conv2dGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* band_out) {
  const int64_t wp = g.out_w + g.kernel_w - 1, band = oy1 - oy0 + g.kernel_h - 1;
  const int64_t length = padded_band_length(g, oy1 - oy0);
  const int64_t first = oy0 - g.pad_top;
  const int64_t y0 = std::clamp<int64_t>(-first, 0, band), y1 = std::clamp<int64_t>(g.in_h - first, y0, band);
  for (int64_t c = 0; c < g.in_channels; ++c) {
    float* out = band_out + c * length;
    const float* plane = image + c * g.in_h * g.in_w;
    std::fill(out, out + y0 * wp, 0.0f);
    tap_rows_avx512(plane + (first + y0) * g.in_w - g.pad_left, g.in_w, y1 - y0, wp, g.pad_left, g.in_w + g.pad_left,
                    out + y0 * wp);
    std::fill(out + y1 * wp, out + length, 0.0f);
  }
}

void transposed_band(const Conv2dGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* scratch,
                     float* transposed) {
  const int64_t length = padded_band_length(g, oy1 - oy0);
  padded_band(g, image, oy0, oy1, scratch);
  microkernel_for(active_isa()).pack_transposed(scratch, length, g.in_channels, length, g.in_channels, transposed);
}

void padded_band_adjoint(const Conv2dGeometry& g, const float* band_grad, int64_t oy0, int64_t oy1, bool accumulate,
                         float* image) {
  const int64_t wp = g.out_w + g.kernel_w - 1, band = oy1 - oy0 + g.kernel_h - 1;
  const int64_t length = padded_band_length(g, oy1 - oy0);
  const int64_t first = oy0 - g.pad_top;
  const int64_t y0 = std::clamp<int64_t>(-first, 0, band), y1 = std::clamp<int64_t>(g.in_h - first, y0, band);
  for (int64_t c = 0; c < g.in_channels; ++c) {
    float* plane = image + c * g.in_h * g.in_w;
    if (!accumulate) {
      std::fill(plane, plane + (first + y0) * g.in_w, 0.0f);
      std::fill(plane + (first + y1) * g.in_w, plane + g.in_h * g.in_w, 0.0f);
    }
    for (int64_t r = y0; r < y1; ++r) {
      const float* __restrict from = band_grad + c * length + r * wp + g.pad_left;
      float* __restrict to = plane + (first + r) * g.in_w;
      if (accumulate) {
#pragma omp simd
        for (int64_t x = 0; x < g.in_w; ++x) to[x] += from[x];
      } else {
        std::memcpy(to, from, g.in_w * sizeof(float));
      }
    }
  }
}

void col2im(const Conv2dGeometry& g, const float* col, int64_t ld, int64_t oy0, int64_t oy1, bool accumulate,
            float* image) {
  if (active_isa() == Isa::avx512 && g.stride_h == 1 && g.stride_w == 1 && !small_plane(g, oy0, oy1)) {
    const int64_t taps = g.kernel_h * g.kernel_w;
    for (int64_t c = 0; c < g.in_channels; ++c)
      col2im_plane_avx512(g, col + c * taps * ld, ld, oy0, oy1, accumulate, image + c * g.in_h * g.in_w);
    return;
  }
  if (!accumulate) std::fill(image, image + g.in_channels * g.in_h * g.in_w, 0.0f);
  if (small_plane(g, oy0, oy1)) return col2im_small_avx512(g, col, ld, image);
  if (active_isa() == Isa::avx512 && g.stride_w == 2) {
    auto spread = std::make_unique_for_overwrite<Stride2Spread>();  // make() writes what is read
    if (spread->make(g, oy0, oy1)) {
      const int64_t taps = g.kernel_h * g.kernel_w;
      for (int64_t c = 0; c < g.in_channels; ++c)
        col2im_plane_stride2_avx512(g, *spread, col + c * taps * ld, ld, image + c * g.in_h * g.in_w);
      return;
    }
  }
  for (int64_t c = 0; c < g.in_channels; ++c) {
    float* plane = image + c * g.in_h * g.in_w;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const float* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * ld;
        for (int64_t oy = oy0; oy < oy1; ++oy) {
          const int64_t iy = oy * g.stride_h - g.pad_top + kh;
          if (iy < 0 || iy >= g.in_h) continue;
          float* __restrict in = plane + iy * g.in_w;
          const float* __restrict out = row + (oy - oy0) * g.out_w;
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

}  // namespace convoy
