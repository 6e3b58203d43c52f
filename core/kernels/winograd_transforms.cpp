#include "core/kernels/winograd_transforms.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/lane_mask.hpp"
#include "core/kernels/relu_max_pool.hpp"
#include "core/kernels/simd.hpp"

namespace convoy {
namespace {

// Lanes k with 0 <= start + k < limit (as unsigned: start + k < limit).
__attribute__((target("avx512f"))) inline __mmask16 lanes_inside(int64_t start, int64_t limit) {
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  return _mm512_cmplt_epu32_mask(_mm512_add_epi32(iota, _mm512_set1_epi32(static_cast<int32_t>(start))),
                                 _mm512_set1_epi32(static_cast<int32_t>(limit)));
}

// (d0 - d2, d1 + d2, d2 - d1, d1 - d3): B^T d on d's rows, d B on its columns.
__attribute__((target("avx512f"), always_inline)) inline void input_combine(__m512 d0, __m512 d1, __m512 d2, __m512 d3,
                                                                            __m512* t) {
  t[0] = _mm512_sub_ps(d0, d2);
  t[1] = _mm512_add_ps(d1, d2);
  t[2] = _mm512_sub_ps(d2, d1);
  t[3] = _mm512_sub_ps(d1, d3);
}

// (m0 + m1 + m2, m1 - m2 - m3): A^T m on m's rows, m A on its columns.
__attribute__((target("avx512f"), always_inline)) inline void output_combine(__m512 m0, __m512 m1, __m512 m2, __m512 m3,
                                                                             __m512* y) {
  y[0] = _mm512_add_ps(_mm512_add_ps(m0, m1), m2);
  y[1] = _mm512_sub_ps(_mm512_sub_ps(m1, m2), m3);
}

// Zeros for input rows above or below the plane: their loads read here, channel after channel,
// instead of branching (the widest read ends 34 floats in).
alignas(64) constexpr float kZeros[48] = {};

// One input row of the segment's tiles, channel after channel: its floats for channel c at
// p + c * step (the zeros, not stepping, outside the plane), the gate's likewise.
struct RowStream {
  const float* p;
  const float* gate;
  int64_t step;
};

RowStream row_stream(const WinogradShape& s, const float* src, const float* gate, int64_t sample, int64_t row,
                     int64_t column) {
  if (row < 0 || row >= s.in_h) return {kZeros, kZeros, 0};
  const int64_t plane = s.in_h * s.in_w, at = (sample * s.in_channels * plane) + row * s.in_w + column;
  return {src + at, gate != nullptr ? gate + at : kZeros, plane};
}

// A masked load; with Gate, lanes whose gate is not positive load 0 too (the fused ReLU's
// gradient flows only where forward's output was positive).
template <bool Gate>
__attribute__((target("avx512f"), always_inline)) inline __m512 gated_load(__mmask16 m, const float* p,
                                                                           const float* gate) {
  if (Gate) m = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, gate), _mm512_setzero_ps(), _CMP_GT_OQ);
  return _mm512_maskz_loadu_ps(m, p);
}

// Note [Winograd segments], wide: row i of 16 tiles of one tile row, columns j = 0..3 from
// every other float of base + j.
struct WideRows {
  RowStream row[4];
  __mmask16 mask[4];  // the loads from base, base + 16, base + 2, base + 18 inside the plane
  const char* ahead;  // Note [Winograd prefetch]
  int64_t ahead_step, ahead_row;

  __attribute__((target("avx512f")))
  WideRows(const WinogradShape& s, const WinogradSegment& g, const float* src, const float* gate) {
    const WinogradRun& r = g.run[0];
    const int64_t base = 2 * r.tile_col - s.pad_left, top = 2 * r.tile_row - s.pad_top;
    for (int64_t i = 0; i < 4; ++i) row[i] = row_stream(s, src, gate, r.sample, top + i, base);
    for (int64_t k = 0; k < 4; ++k) mask[k] = lanes_inside(base + (k % 2) * 16 + (k / 2) * 2, s.in_w);
    // Note [Winograd prefetch]
    // Every channel's rows are a stream of their own, too many for
    // the hardware prefetchers; each segment fetches the two rows the next tile row adds (the
    // same columns), a block or so before they are read.
    const int64_t next = top + 4;
    const RowStream n =
        row_stream(s, src, nullptr, r.sample, next + 1 < s.in_h ? next : -1, std::max<int64_t>(base, 0));
    ahead = n.step != 0 ? reinterpret_cast<const char*>(n.p) : nullptr;
    ahead_step = n.step * static_cast<int64_t>(sizeof(float));
    ahead_row = s.in_w * static_cast<int64_t>(sizeof(float));
  }

  template <bool Gate>
  __attribute__((target("avx512f"), always_inline)) inline void load(int64_t c, int64_t i, __m512* d) const {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    constexpr int kOffset[4] = {0, 16, 2, 18};
    const float* p = row[i].p + c * row[i].step;
    const float* q = row[i].gate + c * row[i].step;
    __m512 l[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) l[k] = gated_load<Gate>(mask[k], p + kOffset[k], q + kOffset[k]);
    d[0] = _mm512_permutex2var_ps(l[0], even, l[1]);
    d[1] = _mm512_permutex2var_ps(l[0], odd, l[1]);
    d[2] = _mm512_permutex2var_ps(l[2], even, l[3]);
    d[3] = _mm512_permutex2var_ps(l[2], odd, l[3]);
  }

  void prefetch(int64_t c) const {
    if (ahead == nullptr) return;
    const char* a = ahead + c * ahead_step;
    for (int64_t line = 0; line < 3; ++line) {
      __builtin_prefetch(a + 64 * line);
      __builtin_prefetch(a + ahead_row + 64 * line);
    }
  }
};

// Note [Winograd segments], narrow: the permute indices that give lane l of run k column
// 2 (tile_col + l - lane) + j of its row, the two runs' rows being one vector each: column[j]
// for j < count (4 input columns a tile, 2 output-gradient columns a block).
__attribute__((target("avx512f"))) void narrow_columns(const WinogradSegment& g, int count, __m512i* column) {
  alignas(64) int32_t index[4][16] = {};
  for (int64_t k = 0; k < g.runs; ++k)
    for (int64_t l = g.run[k].lane; l < g.run[k].lane + g.run[k].lanes; ++l)
      for (int j = 0; j < count; ++j)
        index[j][l] = static_cast<int32_t>(16 * k + 2 * (g.run[k].tile_col + l - g.run[k].lane) + j);
  for (int j = 0; j < count; ++j) column[j] = _mm512_load_si512(index[j]);
}

// Note [Winograd segments], narrow: row i of two tile rows, each input row one vector from
// column -pad_left; lane l of a run takes columns 2 (tile_col + l - lane) + j of its row.
struct NarrowRows {
  RowStream row[2][4];
  __mmask16 mask;     // columns inside the plane
  __m512i column[4];  // per lane, where column j is in (first row's vector, second's)

  __attribute__((target("avx512f")))
  NarrowRows(const WinogradShape& s, const WinogradSegment& g, const float* src, const float* gate) {
    for (int64_t k = 0; k < 2; ++k) {
      const WinogradRun& r = g.run[std::min<int64_t>(k, g.runs - 1)];
      for (int64_t i = 0; i < 4; ++i)
        row[k][i] = k < g.runs ? row_stream(s, src, gate, r.sample, 2 * r.tile_row - s.pad_top + i, -s.pad_left)
                               : RowStream{kZeros, kZeros, 0};
    }
    mask = lanes_inside(-s.pad_left, s.in_w);
    narrow_columns(g, 4, column);
  }

  template <bool Gate>
  __attribute__((target("avx512f"), always_inline)) inline void load(int64_t c, int64_t i, __m512* d) const {
    const RowStream &a = row[0][i], &b = row[1][i];
    const __m512 first = gated_load<Gate>(mask, a.p + c * a.step, a.gate + c * a.step);
    const __m512 second = gated_load<Gate>(mask, b.p + c * b.step, b.gate + c * b.step);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) d[j] = _mm512_permutex2var_ps(first, column[j], second);
  }

  void prefetch(int64_t) const {}
};

template <bool Gate, typename Rows>
__attribute__((target("avx512f"))) void input_transform(const WinogradShape& s, const WinogradSegment& g,
                                                        const Rows& rows, float* v, int64_t stride) {
  const __mmask16 store = lane_range(0, g.length);
  float* out = v + g.column;
  for (int64_t c = 0; c < s.in_channels; ++c, out += kWinogradBlock) {
    rows.prefetch(c);
    __m512 d[4][4];  // d[i][j]: row i, column j of every lane's tile
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) rows.template load<Gate>(c, i, d[i]);
    __m512 t[4][4];  // t[j] = column j of B^T d
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) input_combine(d[0][j], d[1][j], d[2][j], d[3][j], t[j]);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {  // row i of (B^T d) B
      __m512 r[4];
      input_combine(t[0][i], t[1][i], t[2][i], t[3][i], r);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) _mm512_mask_storeu_ps(out + (4 * i + j) * stride, store, r[j]);
    }
  }
}

// Output channel o's 2x2 outputs of every lane, before the bias: y[i][j] = (A^T m A)[i][j].
__attribute__((target("avx512f"), always_inline)) inline void tile_outputs(const float* m, int64_t stride,
                                                                           __m512 (*y)[2]) {
  __m512 a[4][4];
#pragma GCC unroll 16
  for (int xi = 0; xi < 16; ++xi) a[xi / 4][xi % 4] = _mm512_loadu_ps(m + xi * stride);
  __m512 t[4][2];  // t[j] = column j of A^T m
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) output_combine(a[0][j], a[1][j], a[2][j], a[3][j], t[j]);
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i) output_combine(t[0][i], t[1][i], t[2][i], t[3][i], y[i]);
}

// Each lane's 2x2 block max-pooled: the pooled value of tile (tile_row, tile_col + l - lane) of
// each run that lies in the pooled plane, and its winner code.
__attribute__((target("avx512f"))) void pooled_output(const WinogradShape& s, const WinogradSegment& g, const float* m,
                                                      int64_t stride, const float* bias, float* out, uint8_t* winners) {
  const int64_t ph = s.out_h / 2, pw = s.out_w / 2;
  for (int64_t o = 0; o < s.out_channels; ++o) {
    __m512 y[2][2];
    tile_outputs(m + o * kWinogradBlock + g.column, stride, y);
    const __m512 top = _mm512_max_ps(y[0][0], y[0][1]), bottom = _mm512_max_ps(y[1][0], y[1][1]);
    const __m512 best = _mm512_max_ps(top, bottom);
    const __m512 pooled =
        _mm512_max_ps(_mm512_add_ps(best, _mm512_set1_ps(bias != nullptr ? bias[o] : 0.0f)), _mm512_setzero_ps());
    const __m512i code = window_winners(y[0][0], y[0][1], y[1][0], best, pooled);
    for (int64_t k = 0; k < g.runs; ++k) {
      const WinogradRun& r = g.run[k];
      if (r.tile_row >= ph) continue;
      // Lane l goes to pooled column tile_col + l - lane: the row's address less lane.
      const int64_t at = ((r.sample * s.out_channels + o) * ph + r.tile_row) * pw + r.tile_col - r.lane;
      const __mmask16 lanes = lane_range(r.lane, r.lane + std::min(r.lanes, pw - r.tile_col));
      _mm512_mask_storeu_ps(out + at, lanes, pooled);
      _mm512_mask_cvtepi32_storeu_epi8(winners + at, lanes, code);
    }
  }
}

// The 2x2 outputs back into pixels, wide: lane l's columns 2 (tile_col + l) and 2 (tile_col + l) + 1.
__attribute__((target("avx512f,prfchw"))) void wide_output(const WinogradShape& s, const WinogradSegment& g,
                                                           const float* m, int64_t stride, const float* bias, bool relu,
                                                           float* out) {
  const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const __m512 zero = _mm512_setzero_ps();
  const WinogradRun& r = g.run[0];
  const int64_t x0 = 2 * r.tile_col, y0 = 2 * r.tile_row;
  const int64_t pixels = std::min(2 * r.lanes, s.out_w - x0);
  const __mmask16 store0 = lanes_inside(0, pixels), store1 = lanes_inside(16, pixels);
  const int64_t rows = std::min<int64_t>(2, s.out_h - y0);
  for (int64_t o = 0; o < s.out_channels; ++o) {
    __m512 y[2][2];
    tile_outputs(m + o * kWinogradBlock + g.column, stride, y);
    const __m512 b = _mm512_set1_ps(bias != nullptr ? bias[o] : 0.0f);
    float* plane = out + ((r.sample * s.out_channels + o) * s.out_h + y0) * s.out_w + x0;
    if (y0 + 3 < s.out_h)  // Note [Winograd prefetch]: the next tile row's output lines
      for (int64_t i = 2; i < 4; ++i) {
        __builtin_prefetch(plane + i * s.out_w, 1, 3);
        __builtin_prefetch(plane + i * s.out_w + 16, 1, 3);
      }
    for (int64_t i = 0; i < rows; ++i) {
      __m512 left = _mm512_add_ps(y[i][0], b), right = _mm512_add_ps(y[i][1], b);
      if (relu) left = _mm512_max_ps(left, zero), right = _mm512_max_ps(right, zero);
      _mm512_mask_storeu_ps(plane + i * s.out_w, store0, _mm512_permutex2var_ps(left, low, right));
      _mm512_mask_storeu_ps(plane + i * s.out_w + 16, store1, _mm512_permutex2var_ps(left, high, right));
    }
  }
}

// The same, narrow: each run's output row is one vector from column 0; column x takes lane
// lane + x / 2 - tile_col of y[.][x % 2].
__attribute__((target("avx512f"))) void narrow_output(const WinogradShape& s, const WinogradSegment& g, const float* m,
                                                      int64_t stride, const float* bias, bool relu, float* out) {
  const __m512 zero = _mm512_setzero_ps();
  __m512i pick[2];
  __mmask16 store[2] = {0, 0};
  alignas(64) int32_t index[2][16] = {};
  for (int64_t k = 0; k < g.runs; ++k) {
    const WinogradRun& r = g.run[k];
    const int64_t x0 = 2 * r.tile_col, x1 = std::min(2 * (r.tile_col + r.lanes), s.out_w);
    for (int64_t x = x0; x < x1; ++x) index[k][x] = static_cast<int32_t>(16 * (x % 2) + r.lane + x / 2 - r.tile_col);
    store[k] = lane_range(x0, x1);
    pick[k] = _mm512_load_si512(index[k]);
  }
  for (int64_t o = 0; o < s.out_channels; ++o) {
    __m512 y[2][2];
    tile_outputs(m + o * kWinogradBlock + g.column, stride, y);
    const __m512 b = _mm512_set1_ps(bias != nullptr ? bias[o] : 0.0f);
    for (int64_t i = 0; i < 2; ++i) {
      __m512 left = _mm512_add_ps(y[i][0], b), right = _mm512_add_ps(y[i][1], b);
      if (relu) left = _mm512_max_ps(left, zero), right = _mm512_max_ps(right, zero);
      for (int64_t k = 0; k < g.runs; ++k) {
        const int64_t row = 2 * g.run[k].tile_row + i;
        if (row >= s.out_h) continue;
        float* p = out + ((g.run[k].sample * s.out_channels + o) * s.out_h + row) * s.out_w;
        _mm512_mask_storeu_ps(p, store[k], _mm512_permutex2var_ps(left, pick[k], right));
      }
    }
  }
}

// Backward-weights' loaders of each lane's 2x2 output-gradient block d[i][j] for output
// channel o (Note [Winograd weight gradient]), 0 past the output's edge.
// Wide: the block rows' 32 floats from column 2 tile_col, split into even and odd lanes.
template <bool Gate>
struct WideGradient {
  const WinogradShape& s;
  const float *grad, *gate;
  int64_t at, rows;      // channel 0's first pixel; the block rows inside the output
  __mmask16 columns[2];  // lanes of the two loads inside the output

  __attribute__((target("avx512f")))
  WideGradient(const WinogradShape& shape, const WinogradSegment& g, const float* gradient, const float* open)
      : s(shape), grad(gradient), gate(open) {
    const WinogradRun& r = g.run[0];
    at = r.sample * s.out_channels * s.out_h * s.out_w + 2 * r.tile_row * s.out_w + 2 * r.tile_col;
    rows = std::min<int64_t>(2, s.out_h - 2 * r.tile_row);
    columns[0] = lanes_inside(2 * r.tile_col, s.out_w);
    columns[1] = lanes_inside(2 * r.tile_col + 16, s.out_w);
  }

  __attribute__((target("avx512f"), always_inline)) inline void load(int64_t o, __m512 (*d)[2]) const {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t i = 0; i < 2; ++i) {
      __m512 l[2];
      for (int64_t k = 0; k < 2; ++k) {
        const int64_t from = at + o * s.out_h * s.out_w + i * s.out_w + 16 * k;
        l[k] = gated_load<Gate>(i < rows ? columns[k] : 0, grad + from, Gate ? gate + from : nullptr);
      }
      d[i][0] = _mm512_permutex2var_ps(l[0], even, l[1]);
      d[i][1] = _mm512_permutex2var_ps(l[0], odd, l[1]);
    }
  }
};

// Narrow: each run's block rows are one vector from column 0 (a narrow output row is at most 14
// floats); a two-source permute gives lane l column 2 (tile_col + l - lane) + j of its run's row.
template <bool Gate>
struct NarrowGradient {
  const float *grad, *gate;
  int64_t plane;
  int64_t at[2][2];         // per run and block row: channel 0's row
  __mmask16 columns[2][2];  // per run and block row: the row's floats, none past the output's edge
  __m512i column[2];        // per lane, where column j of its block is in (run 0's row, run 1's)

  __attribute__((target("avx512f")))
  NarrowGradient(const WinogradShape& s, const WinogradSegment& g, const float* gradient, const float* open)
      : grad(gradient), gate(open), plane(s.out_h * s.out_w) {
    for (int64_t k = 0; k < 2; ++k) {
      const WinogradRun& r = g.run[std::min<int64_t>(k, g.runs - 1)];
      for (int64_t i = 0; i < 2; ++i) {
        const int64_t row = 2 * r.tile_row + i;
        const bool inside = k < g.runs && row < s.out_h;
        at[k][i] = inside ? r.sample * s.out_channels * plane + row * s.out_w : 0;
        columns[k][i] = inside ? lanes_inside(0, s.out_w) : 0;
      }
    }
    narrow_columns(g, 2, column);
  }

  __attribute__((target("avx512f"), always_inline)) inline void load(int64_t o, __m512 (*d)[2]) const {
    for (int64_t i = 0; i < 2; ++i) {
      __m512 l[2];
      for (int64_t k = 0; k < 2; ++k) {
        const int64_t from = at[k][i] + o * plane;
        l[k] = gated_load<Gate>(columns[k][i], grad + from, Gate ? gate + from : nullptr);
      }
      for (int64_t j = 0; j < 2; ++j) d[i][j] = _mm512_permutex2var_ps(l[0], column[j], l[1]);
    }
  }
};

// Pooled (Note [Fused pooling]): a tile's 2x2 block is a pooling window, so its gradient is the
// window's pooled gradient at the position its winner code names, 0 elsewhere; windows past
// the pooled plane (an odd last row or column) get none.
struct PooledGradient {
  const WinogradShape& s;
  const float* grad;
  const uint8_t* winners;
  int64_t at[2];       // per run: channel 0's first window, less the run's first lane
  __mmask16 lanes[2];  // per run: its lanes inside the pooled plane

  __attribute__((target("avx512f")))
  PooledGradient(const WinogradShape& shape, const WinogradSegment& g, const float* gradient, const uint8_t* codes)
      : s(shape), grad(gradient), winners(codes) {
    const int64_t ph = s.out_h / 2, pw = s.out_w / 2;
    for (int64_t k = 0; k < 2; ++k) {
      const WinogradRun& r = g.run[std::min<int64_t>(k, g.runs - 1)];
      const bool inside = k < g.runs && r.tile_row < ph;
      at[k] = (r.sample * s.out_channels * ph + r.tile_row) * pw + r.tile_col - r.lane;
      lanes[k] = inside ? lane_range(r.lane, r.lane + std::min(r.lanes, pw - r.tile_col)) : 0;
    }
  }

  __attribute__((target("avx512f"), always_inline)) inline void load(int64_t o, __m512 (*d)[2]) const {
    const int64_t plane = (s.out_h / 2) * (s.out_w / 2);
    __m512 value = _mm512_setzero_ps();
    // The codes are bytes; masked byte loads would need AVX512BW, so they are gathered here.
    alignas(64) int32_t codes[16];
    for (int l = 0; l < 16; ++l) codes[l] = kNoWinner;
    for (int64_t k = 0; k < 2; ++k) {
      if (lanes[k] == 0) continue;
      const int64_t from = at[k] + o * plane;
      value = _mm512_mask_loadu_ps(value, lanes[k], grad + from);
      for (int l = 0; l < 16; ++l)
        if (lanes[k] >> l & 1) codes[l] = winners[from + l];
    }
    const __m512i code = _mm512_load_si512(codes);
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j)
        d[i][j] = _mm512_maskz_mov_ps(_mm512_cmpeq_epi32_mask(code, _mm512_set1_epi32(2 * i + j)), value);
  }
};

// Y [16][Cout][32] = A dy A^T of every lane's block, with A = [1 0; 1 1; 1 -1; 0 -1]: a pair
// (a, b) becomes (a, a + b, a - b, -b).
template <typename Blocks>
__attribute__((target("avx512f"))) void gradient_transform(const WinogradShape& s, const WinogradSegment& g,
                                                           const Blocks& blocks, float* y, int64_t stride) {
  const __mmask16 store = lane_range(0, g.length);
  float* out = y + g.column;
  for (int64_t o = 0; o < s.out_channels; ++o, out += kWinogradBlock) {
    __m512 d[2][2];
    blocks.load(o, d);
    __m512 t[4][2];  // A dy: rows (d0, d0 + d1, d0 - d1, -d1)
    for (int64_t j = 0; j < 2; ++j) {
      t[0][j] = d[0][j];
      t[1][j] = _mm512_add_ps(d[0][j], d[1][j]);
      t[2][j] = _mm512_sub_ps(d[0][j], d[1][j]);
      t[3][j] = _mm512_sub_ps(_mm512_setzero_ps(), d[1][j]);
    }
    for (int64_t i = 0; i < 4; ++i) {  // (A dy) A^T, row by row
      const __m512 v[4] = {t[i][0], _mm512_add_ps(t[i][0], t[i][1]), _mm512_sub_ps(t[i][0], t[i][1]),
                           _mm512_sub_ps(_mm512_setzero_ps(), t[i][1])};
      for (int64_t j = 0; j < 4; ++j) _mm512_mask_storeu_ps(out + (4 * i + j) * stride, store, v[j]);
    }
  }
}

}  // namespace

bool winograd_narrow(const WinogradShape& s) { return s.tile_cols() <= 7; }

int64_t winograd_segments(const WinogradShape& s, int64_t t0, int64_t t1, WinogradSegment* segments) {
  const int64_t cols = s.tile_cols(), per_sample = s.tile_rows() * cols;
  const bool narrow = winograd_narrow(s);
  int64_t count = 0;
  for (int64_t t = t0; t < t1; ++count) {
    WinogradSegment& g = segments[count];
    g.column = t - t0;
    g.length = std::min({t1 - t, int64_t{16}, (narrow ? 2 : 1) * cols - t % per_sample % cols});
    g.runs = 0;
    for (int64_t lane = 0; lane < g.length; ++g.runs) {
      const int64_t within = (t + lane) % per_sample, col = within % cols;
      const int64_t lanes = std::min(g.length - lane, cols - col);
      g.run[g.runs] = {(t + lane) / per_sample, within / cols, col, lane, lanes};
      lane += lanes;
    }
    t += g.length;
  }
  return count;
}

void winograd_input(const WinogradShape& s, const WinogradSegment& g, const float* src, const float* gate, float* v,
                    int64_t stride) {
  if (winograd_narrow(s)) {
    const NarrowRows rows(s, g, src, gate);
    if (gate != nullptr)
      input_transform<true>(s, g, rows, v, stride);
    else
      input_transform<false>(s, g, rows, v, stride);
  } else {
    const WideRows rows(s, g, src, gate);
    if (gate != nullptr)
      input_transform<true>(s, g, rows, v, stride);
    else
      input_transform<false>(s, g, rows, v, stride);
  }
}

void winograd_gradient_input(const WinogradShape& s, const WinogradSegment& g, const float* grad, const float* gate,
                             const uint8_t* winners, float* y, int64_t stride) {
  if (winners != nullptr)
    gradient_transform(s, g, PooledGradient(s, g, grad, winners), y, stride);
  else if (winograd_narrow(s) && gate != nullptr)
    gradient_transform(s, g, NarrowGradient<true>(s, g, grad, gate), y, stride);
  else if (winograd_narrow(s))
    gradient_transform(s, g, NarrowGradient<false>(s, g, grad, gate), y, stride);
  else if (gate != nullptr)
    gradient_transform(s, g, WideGradient<true>(s, g, grad, gate), y, stride);
  else
    gradient_transform(s, g, WideGradient<false>(s, g, grad, gate), y, stride);
}

void winograd_output(const WinogradShape& s, const WinogradSegment& g, const float* m, int64_t stride,
                     const float* bias, bool relu, float* out, uint8_t* winners) {
  if (winners != nullptr)
    pooled_output(s, g, m, stride, bias, out, winners);
  else if (winograd_narrow(s))
    narrow_output(s, g, m, stride, bias, relu, out);
  else
    wide_output(s, g, m, stride, bias, relu, out);
}

}  // namespace convoy
