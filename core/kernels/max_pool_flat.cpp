#include "core/kernels/max_pool_flat.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <numeric>
#include <vector>

#include "core/kernels/cpu_features.hpp"
#include "core/kernels/lane_mask.hpp"
#include "core/kernels/simd.hpp"

namespace convoy {
namespace {

constexpr float kLowest = -std::numeric_limits<float>::infinity();
constexpr int64_t kLanes = 16;

// Backward works through blocks of whole planes of about this many outputs, so that a block's
// winners, gradients and input are still in L1 when its second pass reads them.
constexpr int64_t kBlockFloats = 2048;

// Note [Narrow planes pooled flat]: the window's positions as flat offsets, and per lane pattern
// the lanes whose position lies inside their plane.
struct FlatWindows {
  int64_t size;    // floats in a plane
  int64_t period;  // vectors after which the lane patterns repeat
  int64_t offset[9];
  std::vector<std::array<uint16_t, 9>> inside;

  explicit FlatWindows(const Pool2dGeometry& g)
      : size(g.in_h * g.in_w), period(size / std::gcd(size, kLanes)), inside(period) {
    for (int k = 0; k < 9; ++k) offset[k] = (k / 3 - 1) * g.in_w + k % 3 - 1;
    for (int64_t j = 0; j < period; ++j)
      for (int64_t l = 0; l < kLanes; ++l) {
        const int64_t at = (j * kLanes + l) % size, y = at / g.in_w, x = at % g.in_w;
        for (int k = 0; k < 9; ++k) {
          const int64_t wy = y + k / 3 - 1, wx = x + k % 3 - 1;
          if (wy >= 0 && wy < g.in_h && wx >= 0 && wx < g.in_w) inside[j][k] |= static_cast<uint16_t>(1u << l);
        }
      }
  }

  int64_t next(int64_t j) const { return j + 1 == period ? 0 : j + 1; }
};

// The window maxima of the 16 outputs at `at`, each position through vmaxps(v, best): the scalar
// `v > best ? v : best` over the window clipped to the plane. Vectors whose reach stays inside
// the range (`whole`) load without a mask and leave the outside lanes to the max's mask: masked
// loads made the pooling of GoogLeNet's 8x8 planes take 0.43-0.59 ms forward and 1.43-1.58 ms
// backward where plain ones take 0.37-0.39 and 0.93-0.96 (a Zen 4). v[k] holds a lane's value
// only where its position k is inside.
template <bool whole>
__attribute__((target("avx512f"), always_inline)) inline __m512 windows(const FlatWindows& f, const float* at,
                                                                        const std::array<uint16_t, 9>& inside,
                                                                        __mmask16 lanes, __m512 (&v)[9]) {
  __m512 best = _mm512_set1_ps(kLowest);
  for (int k = 0; k < 9; ++k) {
    const auto m = static_cast<__mmask16>(inside[k] & lanes);
    v[k] = whole ? _mm512_loadu_ps(at + f.offset[k]) : _mm512_maskz_loadu_ps(m, at + f.offset[k]);
    best = _mm512_mask_max_ps(best, m, v[k], best);
  }
  return best;
}

// Whether the vector at c reads only inside [0, count) at every position.
inline bool whole_vector(const FlatWindows& f, int64_t c, int64_t count) {
  return c >= f.offset[8] && c + kLanes + f.offset[8] <= count;
}

// windows() of the vector at c of a range of `count` floats, j its lane pattern.
__attribute__((target("avx512f"), always_inline)) inline __m512 windows_at(const FlatWindows& f, const float* input,
                                                                           int64_t c, int64_t j, int64_t count,
                                                                           __mmask16 lanes, __m512 (&v)[9]) {
  return whole_vector(f, c, count) ? windows<true>(f, input + c, f.inside[j], lanes, v)
                                   : windows<false>(f, input + c, f.inside[j], lanes, v);
}

// Lanes whose window holds nothing above -inf: the scalar rule decides them.
__attribute__((target("avx512f"), always_inline)) inline uint32_t scalar_lanes(__m512 best, __mmask16 lanes) {
  return lanes & ~_mm512_cmp_ps_mask(best, _mm512_set1_ps(kLowest), _CMP_GT_OQ);
}

// The scalar rule's winner of the output at flat offset q: its window position k (0-8). Not
// found from the flat offset, which two positions share on planes 1 or 2 wide.
int scalar_winner(const Pool2dGeometry& g, const FlatWindows& f, const float* input, int64_t q) {
  const int64_t start = q - q % f.size, at = q - start, y = at / g.in_w, x = at % g.in_w;
  const int64_t w = max_pool_winner(g, input + start, y, x);
  return static_cast<int>((w / g.in_w - y + 1) * 3 + w % g.in_w - x + 1);
}

__attribute__((target("avx512f"))) void forward_floats(const Pool2dGeometry& g, const FlatWindows& f,
                                                       const float* input, float* output, int64_t count) {
  for (int64_t c = 0, j = 0; c < count; c += kLanes, j = f.next(j)) {
    const auto lanes = static_cast<__mmask16>(lane_range(0, count - c));
    __m512 v[9];
    const __m512 best = windows_at(f, input, c, j, count, lanes, v);
    _mm512_mask_storeu_ps(output + c, lanes, best);
    for (uint32_t rule = scalar_lanes(best, lanes); rule != 0; rule &= rule - 1) {
      const int64_t q = c + __builtin_ctz(rule);
      output[q] = input[q + f.offset[scalar_winner(g, f, input, q)]];
    }
  }
}

// The first pass of backward: each output's winner, the position k (0-8) of the first value equal
// to the maximum, set from the last position back.
__attribute__((target("avx512f"))) void find_winners(const Pool2dGeometry& g, const FlatWindows& f, const float* input,
                                                     int32_t* winner, int64_t count) {
  for (int64_t c = 0, j = 0; c < count; c += kLanes, j = f.next(j)) {
    const auto lanes = static_cast<__mmask16>(lane_range(0, count - c));
    __m512 v[9];
    const __m512 best = windows_at(f, input, c, j, count, lanes, v);
    __m512i within = _mm512_setzero_si512();
    for (int k = 8; k >= 0; --k)
      within = _mm512_mask_mov_epi32(
          within, _mm512_mask_cmp_ps_mask(static_cast<__mmask16>(f.inside[j][k] & lanes), v[k], best, _CMP_EQ_OQ),
          _mm512_set1_epi32(k));
    _mm512_mask_storeu_epi32(winner + c, lanes, within);
    for (uint32_t rule = scalar_lanes(best, lanes); rule != 0; rule &= rule - 1) {
      const int64_t q = c + __builtin_ctz(rule);
      winner[q] = scalar_winner(g, f, input, q);
    }
  }
}

// The second pass: input i sums the gradients of outputs i - offset[k] that it won, k from 8 down
// to 0, that is in output order. The lanes whose output i - offset[k] lies in their plane are
// those whose position 8 - k does.
__attribute__((target("avx512f"))) void gather_gradients(const FlatWindows& f, const int32_t* winner,
                                                         const float* output_grad, float* input_grad, int64_t count) {
  for (int64_t c = 0, j = 0; c < count; c += kLanes, j = f.next(j)) {
    const auto lanes = static_cast<__mmask16>(lane_range(0, count - c));
    __m512 sum = _mm512_setzero_ps();
    const bool whole = whole_vector(f, c, count);
    for (int k = 8; k >= 0; --k) {
      const auto m = static_cast<__mmask16>(f.inside[j][8 - k] & lanes);
      const int64_t from = c - f.offset[k];
      const __m512i won_by = whole ? _mm512_loadu_si512(winner + from) : _mm512_maskz_loadu_epi32(m, winner + from);
      const __mmask16 won = _mm512_mask_cmpeq_epi32_mask(m, won_by, _mm512_set1_epi32(k));
      const __m512 grad = whole ? _mm512_loadu_ps(output_grad + from) : _mm512_maskz_loadu_ps(won, output_grad + from);
      sum = _mm512_mask_add_ps(sum, won, sum, grad);
    }
    _mm512_mask_storeu_ps(input_grad + c, lanes, sum);
  }
}

}  // namespace

bool max_pool_flat_serves(const Pool2dGeometry& g) {
  return active_isa() == Isa::avx512 && g.window_h == 3 && g.window_w == 3 && g.stride_h == 1 && g.stride_w == 1 &&
         g.pad_top == 1 && g.pad_left == 1 && g.out_h == g.in_h && g.out_w == g.in_w && g.in_h > 0 && g.in_w > 0 &&
         g.in_w < kLanes && g.in_h * g.in_w <= 256;
}

void max_pool_flat_forward(const Pool2dGeometry& g, const float* input, float* output, int64_t p0, int64_t p1) {
  const FlatWindows f(g);
  forward_floats(g, f, input + p0 * f.size, output + p0 * f.size, (p1 - p0) * f.size);
}

void max_pool_flat_backward(const Pool2dGeometry& g, const float* input, const float* output_grad, float* input_grad,
                            int64_t p0, int64_t p1) {
  const FlatWindows f(g);
  const int64_t block = std::max<int64_t>(1, kBlockFloats / f.size);  // planes
  std::vector<int32_t> winner(block * f.size);
  for (int64_t p = p0; p < p1; p += block) {
    const int64_t at = p * f.size, count = (std::min(p1, p + block) - p) * f.size;
    find_winners(g, f, input + at, winner.data(), count);
    gather_gradients(f, winner.data(), output_grad + at, input_grad + at, count);
  }
}

}  // namespace convoy
