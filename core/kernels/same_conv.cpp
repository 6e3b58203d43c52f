#include "core/kernels/same_conv.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/cpu_features.hpp"
#include "core/kernels/gemm_microkernels.hpp"
#include "core/kernels/simd.hpp"

namespace convoy {
namespace {

// Output channels go in the GEMM's register tiles, 12 or 8 rows (24 or 16 zmm accumulators x
// 32 pixels), split as Note [GEMM row tiles] says: 64 = 12+12+12+12+8+8.
RowSplit tiles_of(int64_t m) { return split_rows(m, microkernel_for(Isa::avx512)); }

constexpr int64_t kPrefetchStrips = 3;

// The lanes where 0 <= y + dy < h and 0 <= x + dx < w: as unsigned, y + dy < h and x + dx < w.
__attribute__((target("avx512f"))) inline __mmask16 inside(__m512i y, __m512i x, __m512i dy, __m512i dx, __m512i h,
                                                           __m512i w) {
  return static_cast<__mmask16>(_mm512_cmplt_epu32_mask(_mm512_add_epi32(y, dy), h) &
                                _mm512_cmplt_epu32_mask(_mm512_add_epi32(x, dx), w));
}

// Which lanes of a 32-pixel strip from pixel jb read tap (kh, kw) inside the plane, for every
// tap: two 16-lane masks per tap. Lanes at or past j1 read nothing.
__attribute__((target("avx512f"))) void strip_masks(const SameConvShape& s, int64_t jb, int64_t j1,
                                                    __mmask16* masks) {
  alignas(64) int32_t ys[kSameConvStrip], xs[kSameConvStrip];
  int64_t y = jb / s.w, x = jb % s.w;
  for (int64_t l = 0; l < kSameConvStrip; ++l) {
    // Lanes past j1 get a row no tap reaches.
    ys[l] = jb + l < j1 ? static_cast<int32_t>(y) : static_cast<int32_t>(-2 * s.h - 2 * s.kernel_h);
    xs[l] = static_cast<int32_t>(x);
    if (++x == s.w) x = 0, ++y;
  }
  const __m512i y0 = _mm512_load_si512(ys), y1 = _mm512_load_si512(ys + 16);
  const __m512i x0 = _mm512_load_si512(xs), x1 = _mm512_load_si512(xs + 16);
  const __m512i h = _mm512_set1_epi32(static_cast<int32_t>(s.h)), w = _mm512_set1_epi32(static_cast<int32_t>(s.w));
  for (int64_t kh = 0; kh < s.kernel_h; ++kh)
    for (int64_t kw = 0; kw < s.kernel_w; ++kw) {
      const __m512i dy = _mm512_set1_epi32(static_cast<int32_t>(kh - s.pad_top));
      const __m512i dx = _mm512_set1_epi32(static_cast<int32_t>(kw - s.pad_left));
      __mmask16* m = masks + 2 * (kh * s.kernel_w + kw);
      m[0] = inside(y0, x0, dy, dx, h, w);
      m[1] = inside(y1, x1, dy, dx, h, w);
    }
}

// One tile: R output channels x 32 pixels from jb, summed over the taps (outer) and channels
// (inner) in registers; then the bias, the ReLU and the store.
template <int R>
__attribute__((target("avx512f,fma,prfchw"))) void strip_tile(const SameConvShape& s, bool prefetch, const float* a,
                                                              const float* src, int64_t src_ld,
                                                              const __mmask16* masks, const float* bias, bool relu,
                                                              int64_t rows, __mmask16 store0, __mmask16 store1,
                                                              float* out, int64_t out_ld) {
  __m512 acc0[R], acc1[R];
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
  const int64_t channels = s.in_channels;
  for (int64_t kh = 0; kh < s.kernel_h; ++kh)
    for (int64_t kw = 0; kw < s.kernel_w; ++kw, a += channels * R, masks += 2) {
      const __mmask16 m0 = masks[0], m1 = masks[1];
      if ((m0 | m1) == 0) continue;  // this tap meets only padding here
      const float* p = src + (kh - s.pad_top) * s.w + (kw - s.pad_left);
      const float* ap = a;
      // Note [Strip prefetch]
      // A strip's first tile fetches, for each kernel row, the input
      // kPrefetchStrips strips ahead, a channel per step among the FMAs (and the epilogue the
      // output lines). Every channel is a stream of its own, 64 and more, and the hardware
      // prefetchers lose track of them: every new line was a wait on memory.
      const char* ahead = prefetch && kw == 0 ? reinterpret_cast<const char*>(p + kPrefetchStrips * kSameConvStrip)
                                              : nullptr;
      for (int64_t c = 0; c < channels; ++c, p += src_ld, ap += R) {
        if (ahead != nullptr) {
          _mm_prefetch(ahead, _MM_HINT_T0);
          _mm_prefetch(ahead + 64, _MM_HINT_T0);
          ahead += src_ld * sizeof(float);
        }
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, p);
        const __m512 b1 = _mm512_maskz_loadu_ps(m1, p + 16);
#pragma GCC unroll 12
        for (int i = 0; i < R; ++i) {
          const __m512 ai = _mm512_set1_ps(ap[i]);
          acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
          acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
        }
      }
    }
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i) {
    if (i >= rows) break;
    const __m512 b = _mm512_set1_ps(bias != nullptr ? bias[i] : 0.0f);
    __m512 v0 = _mm512_add_ps(acc0[i], b), v1 = _mm512_add_ps(acc1[i], b);
    if (relu) v0 = _mm512_max_ps(v0, zero), v1 = _mm512_max_ps(v1, zero);
    _mm512_mask_storeu_ps(out + i * out_ld, store0, v0);
    _mm512_mask_storeu_ps(out + i * out_ld + 16, store1, v1);
    // The output lines kPrefetchStrips ahead, for writing.
    __builtin_prefetch(out + i * out_ld + kPrefetchStrips * kSameConvStrip, 1, 3);
    __builtin_prefetch(out + i * out_ld + kPrefetchStrips * kSameConvStrip + 16, 1, 3);
  }
}

}  // namespace

bool same_conv_supported() { return active_isa() == Isa::avx512; }

SameConvShape same_conv_adjoint(const SameConvShape& s) {
  SameConvShape a = s;
  a.pad_top = s.kernel_h - 1 - s.pad_top;
  a.pad_left = s.kernel_w - 1 - s.pad_left;
  a.in_channels = s.out_channels;
  a.out_channels = s.in_channels;
  return a;
}

int64_t same_conv_tile_count(const SameConvShape& s) { return tiles_of(s.out_channels).count(); }

int64_t same_conv_packed_floats(const SameConvShape& s) {
  return tiles_of(s.out_channels).padded() * s.taps() * s.in_channels;
}

void same_conv_pack(const SameConvShape& s, const float* weight, bool adjoint, int64_t tile, float* packed) {
  const SameConvShape t = adjoint ? same_conv_adjoint(s) : s;
  const RowTile tl = tiles_of(t.out_channels).at(tile);
  float* a = packed + tl.row * t.taps() * t.in_channels;
  // Tile layout: [kh][kw][c][row]; the weight of target row m, channel c, tap (kh, kw).
  const int64_t cin = s.in_channels, kh_n = s.kernel_h, kw_n = s.kernel_w;
  for (int64_t kh = 0; kh < kh_n; ++kh)
    for (int64_t kw = 0; kw < kw_n; ++kw)
      for (int64_t c = 0; c < t.in_channels; ++c, a += tl.height)
        for (int64_t i = 0; i < tl.height; ++i) {
          const int64_t m = tl.row + i;
          if (m >= t.out_channels) {
            a[i] = 0.0f;
          } else if (adjoint) {  // forward's output channel c, input channel m, tap flipped
            a[i] = weight[((c * cin + m) * kh_n + (kh_n - 1 - kh)) * kw_n + (kw_n - 1 - kw)];
          } else {
            a[i] = weight[((m * cin + c) * kh_n + kh) * kw_n + kw];
          }
        }
}

__attribute__((target("avx512f"))) void same_conv_pixels(const SameConvShape& s, const float* packed,
                                                         const float* src, int64_t src_ld, const float* bias,
                                                         bool relu, int64_t j0, int64_t j1, float* out,
                                                         int64_t out_ld) {
  CONVOY_ASSERT(s.taps() <= kSameConvMaxTaps, "same convolution: more taps than the kernel's masks hold");
  const int64_t depth = s.taps() * s.in_channels;
  const RowSplit tiles = tiles_of(s.out_channels);
  __mmask16 masks[2 * kSameConvMaxTaps];
  for (int64_t jb = j0; jb < j1; jb += kSameConvStrip) {
    strip_masks(s, jb, j1, masks);
    const int64_t live = std::min(kSameConvStrip, j1 - jb);
    const auto store0 = static_cast<__mmask16>(live >= 16 ? 0xFFFF : (1u << live) - 1);
    const auto store1 = static_cast<__mmask16>(live >= 32 ? 0xFFFF : live <= 16 ? 0 : (1u << (live - 16)) - 1);
    for (int64_t t = 0; t < tiles.count(); ++t) {
      const RowTile tl = tiles.at(t);
      const int64_t rows = std::min(tl.height, s.out_channels - tl.row);
      const float* b = bias != nullptr ? bias + tl.row : nullptr;
      float* o = out + tl.row * out_ld + jb;
      const float* a = packed + tl.row * depth;
      if (tl.height == 12)
        strip_tile<12>(s, t == 0, a, src + jb, src_ld, masks, b, relu, rows, store0, store1, o, out_ld);
      else  // 8: the kernels are the GEMM's tile heights
        strip_tile<8>(s, t == 0, a, src + jb, src_ld, masks, b, relu, rows, store0, store1, o, out_ld);
    }
  }
}

}  // namespace convoy
