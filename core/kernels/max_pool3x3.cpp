#include "core/kernels/max_pool3x3.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

#include "core/kernels/cpu_features.hpp"
#include "core/kernels/lane_mask.hpp"
#include "core/kernels/simd.hpp"

namespace convoy {
namespace {

constexpr float kLowest = -std::numeric_limits<float>::infinity();

// Floats past a padded row that the vector loads of its last outputs may read (stride 2: up to
// 2 x 15 + 33 past the last output's window).
constexpr int64_t kSlack = 64;

// Note [3x3 max pooling in vectors]: the plane with -inf around it, as far as the windows reach.
// Only the input's floats are ever written, the same ones for every plane, so the -inf stays.
struct PaddedPlane {
  int64_t rows, cols, ld;
  std::vector<float> data;

  explicit PaddedPlane(const Pool2dGeometry& g)
      : rows((g.out_h - 1) * g.stride_h + 3),
        cols((g.out_w - 1) * g.stride_w + 3),
        ld(cols + kSlack),
        data(rows * ld + kSlack, kLowest) {}

  // Rows of up to 16 floats (GoogLeNet's planes at 64x64 are 16 to 2 wide) in one move each,
  // not a call to memcpy, which cost more than the pooling of a 4x4 plane. Rows of exactly 16
  // move without a mask: on a Zen 4, GoogLeNet's 3x3/2 pool of 16x16 planes took 2.6 ms forward
  // with the masked move and 0.9 ms with the plain one. Why is not pinned down: a plain load
  // followed by a blend measured 2.2 ms, as did the masked move with the strides in locals.
  __attribute__((target("avx512f"))) void fill(const Pool2dGeometry& g, const float* plane) {
    const int64_t height = std::min(g.in_h, rows - g.pad_top);
    const int64_t width = std::max<int64_t>(0, std::min(g.in_w, cols - g.pad_left));
    float* to = data.data() + g.pad_top * ld + g.pad_left;
    if (width == 16) {
      for (int64_t y = 0; y < height; ++y) _mm512_storeu_ps(to + y * ld, _mm512_loadu_ps(plane + y * g.in_w));
      return;
    }
    if (width < 16) {
      const auto lanes = static_cast<__mmask16>(lane_range(0, width));
      for (int64_t y = 0; y < height; ++y)
        _mm512_mask_storeu_ps(to + y * ld, lanes, _mm512_maskz_loadu_ps(lanes, plane + y * g.in_w));
      return;
    }
    for (int64_t y = 0; y < height; ++y) std::memcpy(to + y * ld, plane + y * g.in_w, width * sizeof(float));
  }
};

// Stride 2 with at most 8 output columns: a vector pools two output rows, lanes 0-7 the first and
// lanes 8-15 the next (GoogLeNet's 3x3/2 at 16x16 and 8x8 planes), so that it is never half idle.
struct Lanes {
  bool pairs;
  int64_t rows;  // output rows a vector pools
  __m512i step;  // each lane's offset in the input plane from the vector's first window

  __attribute__((target("avx512f"))) Lanes(const Pool2dGeometry& g, int stride)
      : pairs(stride == 2 && g.out_w <= 8), rows(pairs ? 2 : 1) {
    alignas(64) int32_t at[16];
    for (int l = 0; l < 16; ++l)
      at[l] = static_cast<int32_t>(pairs ? l / 8 * stride * g.in_w + l % 8 * stride : l * stride);
    step = _mm512_load_si512(at);
  }

  int64_t row(int l) const { return pairs ? l / 8 : 0; }
  int64_t col(int l) const { return pairs ? l % 8 : l; }

  // The lanes of outputs that exist, in output order.
  uint32_t live(const Pool2dGeometry& g, int64_t oy, int64_t ox) const {
    if (!pairs) return lane_range(0, g.out_w - ox);
    return lane_range(0, g.out_w) | (oy + 1 < g.out_h ? lane_range(8, 8 + g.out_w) : 0u);
  }

  // Where lanes 8-15 read their window rows, past lanes 0-7's (stride 2): 16 columns on, or the
  // next output row's windows (the same row's again past the last output row: no lane reads it).
  int64_t second(const Pool2dGeometry& g, const PaddedPlane& b, int64_t oy) const {
    if (!pairs) return 16;
    return oy + 1 < g.out_h ? 2 * b.ld : 0;
  }
};

// The nine values of the windows of a vector of outputs in row-major order, the first window's
// top row at `top`, and their maximum: each position through vmaxps(v, best), the scalar
// `v > best ? v : best`.
template <int S>
__attribute__((target("avx512f"), always_inline)) inline __m512 windows(const float* top, int64_t ld, int64_t ox,
                                                                        int64_t second, __m512 (&v)[9]) {
  __m512 best = _mm512_set1_ps(kLowest);
#pragma GCC unroll 3
  for (int r = 0; r < 3; ++r) {
    const float* row = top + r * ld + S * ox;
    if constexpr (S == 1) {
      for (int k = 0; k < 3; ++k) v[3 * r + k] = _mm512_loadu_ps(row + k);
    } else {
      const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
      const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
      const __m512 a = _mm512_loadu_ps(row), b = _mm512_loadu_ps(row + second);
      v[3 * r] = _mm512_permutex2var_ps(a, even, b);
      v[3 * r + 1] = _mm512_permutex2var_ps(a, odd, b);
      v[3 * r + 2] = _mm512_permutex2var_ps(_mm512_loadu_ps(row + 2), even, _mm512_loadu_ps(row + second + 2));
    }
    for (int k = 0; k < 3; ++k) best = _mm512_max_ps(v[3 * r + k], best);
  }
  return best;
}

template <int S>
__attribute__((target("avx512f"))) void forward_plane(const Pool2dGeometry& g, const PaddedPlane& b, const Lanes& n,
                                                      const float* plane, float* out) {
  const __m512 lowest = _mm512_set1_ps(kLowest);
  const __m512i upper = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15);
  for (int64_t oy = 0; oy < g.out_h; oy += n.rows) {
    const float* top = b.data.data() + oy * S * b.ld;
    float* o = out + oy * g.out_w;
    for (int64_t ox = 0; ox < g.out_w; ox += 16) {
      __m512 v[9];
      const __m512 best = windows<S>(top, b.ld, ox, n.second(g, b, oy), v);
      const uint32_t lanes = n.live(g, oy, ox);
      if (n.pairs && g.out_w < 8) {
        _mm512_mask_storeu_ps(o, static_cast<__mmask16>(lanes & 0xff), best);
        _mm512_mask_storeu_ps(o + g.out_w, static_cast<__mmask16>(lanes >> 8), _mm512_permutexvar_ps(upper, best));
      } else {
        _mm512_mask_storeu_ps(o + ox, static_cast<__mmask16>(lanes), best);
      }
      for (uint32_t rule = lanes & ~_mm512_cmp_ps_mask(best, lowest, _CMP_GT_OQ); rule != 0; rule &= rule - 1) {
        const int l = __builtin_ctz(rule);
        const int64_t y = oy + n.row(l), x = ox + n.col(l);
        out[y * g.out_w + x] = plane[max_pool_winner(g, plane, y, x)];
      }
    }
  }
}

template <int S>
__attribute__((target("avx512f"))) void backward_plane(const Pool2dGeometry& g, const PaddedPlane& b, const Lanes& n,
                                                       const float* plane, const float* og, float* ig) {
  const __m512 lowest = _mm512_set1_ps(kLowest);
  std::fill(ig, ig + g.in_h * g.in_w, 0.0f);
  for (int64_t oy = 0; oy < g.out_h; oy += n.rows) {
    const float* top = b.data.data() + oy * S * b.ld;
    for (int64_t ox = 0; ox < g.out_w; ox += 16) {
      __m512 v[9];
      const __m512 best = windows<S>(top, b.ld, ox, n.second(g, b, oy), v);
      // The winner's offset in the plane: the first position equal to the maximum, set from the
      // last position back; -1 where the scalar rule decides.
      __m512i within = _mm512_setzero_si512();
      for (int k = 8; k >= 0; --k)
        within = _mm512_mask_mov_epi32(within, _mm512_cmp_ps_mask(v[k], best, _CMP_EQ_OQ),
                                       _mm512_set1_epi32(static_cast<int32_t>(k / 3 * g.in_w + k % 3)));
      const __m512i corner = _mm512_add_epi32(
          _mm512_set1_epi32(static_cast<int32_t>((oy * S - g.pad_top) * g.in_w + ox * S - g.pad_left)), n.step);
      alignas(64) int32_t at[16];
      _mm512_store_si512(
          at, _mm512_mask_mov_epi32(_mm512_add_epi32(corner, within), _mm512_cmp_ps_mask(best, lowest, _CMP_NGT_UQ),
                                    _mm512_set1_epi32(-1)));
      // In the scalar code's order, output by output, so each input's sum is added alike.
      for (uint32_t lanes = n.live(g, oy, ox); lanes != 0; lanes &= lanes - 1) {
        const int l = __builtin_ctz(lanes);
        const int64_t y = oy + n.row(l), x = ox + n.col(l);
        ig[at[l] >= 0 ? at[l] : max_pool_winner(g, plane, y, x)] += og[y * g.out_w + x];
      }
    }
  }
}

}  // namespace

bool max_pool3x3_serves(const Pool2dGeometry& g) {
  return active_isa() == Isa::avx512 && g.window_h == 3 && g.window_w == 3 && g.stride_h == g.stride_w &&
         (g.stride_h == 1 || g.stride_h == 2) && g.out_h > 0 && g.out_w > 0;
}

void max_pool3x3_forward(const Pool2dGeometry& g, const float* input, float* output, int64_t p0, int64_t p1) {
  PaddedPlane b(g);
  const Lanes n(g, static_cast<int>(g.stride_h));
  const int64_t in_size = g.in_h * g.in_w, out_size = g.out_h * g.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    b.fill(g, input + p * in_size);
    if (g.stride_h == 1)
      forward_plane<1>(g, b, n, input + p * in_size, output + p * out_size);
    else
      forward_plane<2>(g, b, n, input + p * in_size, output + p * out_size);
  }
}

void max_pool3x3_backward(const Pool2dGeometry& g, const float* input, const float* output_grad, float* input_grad,
                          int64_t p0, int64_t p1) {
  PaddedPlane b(g);
  const Lanes n(g, static_cast<int>(g.stride_h));
  const int64_t in_size = g.in_h * g.in_w, out_size = g.out_h * g.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    b.fill(g, input + p * in_size);
    if (g.stride_h == 1)
      backward_plane<1>(g, b, n, input + p * in_size, output_grad + p * out_size, input_grad + p * in_size);
    else
      backward_plane<2>(g, b, n, input + p * in_size, output_grad + p * out_size, input_grad + p * in_size);
  }
}

}  // namespace convoy
