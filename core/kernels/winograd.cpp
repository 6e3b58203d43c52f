#include "core/kernels/winograd.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/cpu_features.hpp"
#include "core/kernels/gemm_microkernels.hpp"
#include "core/kernels/simd.hpp"

namespace convoy {
namespace {

constexpr int64_t kPositions = 16;  // the 4x4 tile's positions xi = 4 * row + column

// M's rows: Cout in whole register tiles (Note [GEMM row tiles]), the edge tile's padding too.
int64_t padded_rows(int64_t m) {
  const RowSplit split = split_rows(m, microkernel_for(Isa::avx512));
  const RowTile last = split.at(split.count() - 1);
  return last.row + last.height;
}

// V's and M's floats per position xi: one more cache line than the matrix, so that the 16
// positions of a column do not all fall in one L1 set (at 8 KB apart they did, and the
// transforms, which touch all 16, missed L1 on every access).
int64_t position_stride(int64_t rows) { return rows * kWinogradBlock + 16; }

// A run of at most 16 consecutive tiles of one tile row: the unit of the vector transforms,
// one tile per lane. column: where its first tile sits among the block's 32.
struct Segment {
  int64_t sample, tile_row, tile_col, length, column;
};

// The block's tiles [t0, t1) cut at tile-row ends and every 16 tiles.
int64_t block_segments(const WinogradShape& s, int64_t t0, int64_t t1, Segment* segments) {
  const int64_t cols = s.tile_cols(), per_sample = s.tile_rows() * cols;
  int64_t count = 0;
  for (int64_t t = t0; t < t1; ++count) {
    const int64_t within = t % per_sample, col = within % cols;
    const int64_t length = std::min({t1 - t, cols - col, int64_t{16}});
    segments[count] = {t / per_sample, within / cols, col, length, t - t0};
    t += length;
  }
  return count;
}

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

// Row i of 16 input tiles: column j of tile l is every other float from base + j, so two
// loads of 32 floats split into even and odd lanes give columns 0 and 1, and two loads from
// base + 2 columns 2 and 3. Lanes outside the plane load 0, and with Gate so do lanes whose
// gate is not positive.
template <bool Gate>
__attribute__((target("avx512f"), always_inline)) inline void load_tile_row(const float* p, const float* gate,
                                                                           const __mmask16* mask, __m512* d) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  constexpr int kOffset[4] = {0, 16, 2, 18};
  __m512 l[4];
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    __mmask16 m = mask[k];
    // The fused ReLU's gradient flows only where forward's output was positive.
    if (Gate)
      m = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, gate + kOffset[k]), _mm512_setzero_ps(), _CMP_GT_OQ);
    l[k] = _mm512_maskz_loadu_ps(m, p + kOffset[k]);
  }
  d[0] = _mm512_permutex2var_ps(l[0], even, l[1]);
  d[1] = _mm512_permutex2var_ps(l[0], odd, l[1]);
  d[2] = _mm512_permutex2var_ps(l[2], even, l[3]);
  d[3] = _mm512_permutex2var_ps(l[2], odd, l[3]);
}

// Zeros for the rows of a tile above or below the plane: their loads read here, channel after
// channel, instead of branching (kOffset's last load ends 34 floats in).
alignas(64) constexpr float kZeros[48] = {};

// V [16][Cin][32] for one segment: lane l is tile (tile_row, tile_col + l), whose 4x4 input
// tile starts at row 2 * tile_row - pad_top, column 2 * (tile_col + l) - pad_left; outside the
// plane it reads 0.
template <bool Gate>
__attribute__((target("avx512f"))) void input_transform(const WinogradShape& s, const Segment& g, const float* src,
                                                        const float* gate, float* v) {
  const int64_t base = 2 * g.tile_col - s.pad_left, top = 2 * g.tile_row - s.pad_top;
  const int64_t plane = s.in_h * s.in_w;
  const __mmask16 mask[4] = {lanes_inside(base, s.in_w), lanes_inside(base + 16, s.in_w),
                             lanes_inside(base + 2, s.in_w), lanes_inside(base + 18, s.in_w)};
  // Row i's floats for channel c at row[i] + c * step[i] (the zeros, not stepping, outside).
  const float *row[4], *gate_row[4];
  int64_t step[4];
  for (int64_t i = 0; i < 4; ++i) {
    const bool inside = top + i >= 0 && top + i < s.in_h;
    const int64_t at = g.sample * s.in_channels * plane + (top + i) * s.in_w + base;
    row[i] = inside ? src + at : kZeros;
    gate_row[i] = inside && Gate ? gate + at : kZeros;
    step[i] = inside ? plane : 0;
  }
  const auto store = static_cast<__mmask16>((1u << g.length) - 1);
  const int64_t stride = position_stride(s.in_channels);
  // Note [Winograd prefetch]: every channel's rows are a stream of their own, too many for the
  // hardware prefetchers; each segment fetches the two rows the next tile row adds (the same
  // columns), a block or so before they are read.
  const int64_t next = top + 4;
  const char* ahead = next + 1 < s.in_h ? reinterpret_cast<const char*>(src + g.sample * s.in_channels * plane +
                                                                         next * s.in_w + std::max<int64_t>(base, 0))
                                        : nullptr;
  float* out = v + g.column;
  for (int64_t c = 0; c < s.in_channels; ++c, out += kWinogradBlock) {
    if (ahead != nullptr) {
      const char* a = ahead + c * plane * sizeof(float);
      for (int64_t line = 0; line < 3; ++line) {
        _mm_prefetch(a + 64 * line, _MM_HINT_T0);
        _mm_prefetch(a + s.in_w * sizeof(float) + 64 * line, _MM_HINT_T0);
      }
    }
    __m512 d0[4], d1[4], d2[4], d3[4];
    load_tile_row<Gate>(row[0] + c * step[0], gate_row[0] + c * step[0], mask, d0);
    load_tile_row<Gate>(row[1] + c * step[1], gate_row[1] + c * step[1], mask, d1);
    load_tile_row<Gate>(row[2] + c * step[2], gate_row[2] + c * step[2], mask, d2);
    load_tile_row<Gate>(row[3] + c * step[3], gate_row[3] + c * step[3], mask, d3);
    __m512 t[4][4];  // t[j] = column j of B^T d
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) input_combine(d0[j], d1[j], d2[j], d3[j], t[j]);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {  // row i of (B^T d) B
      __m512 r[4];
      input_combine(t[0][i], t[1][i], t[2][i], t[3][i], r);
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) _mm512_mask_storeu_ps(out + (4 * i + j) * stride, store, r[j]);
    }
  }
}

// m rows -> A^T m: (m0 + m1 + m2, m1 - m2 - m3).
__attribute__((target("avx512f"))) inline void output_rows(const __m512* m, __m512* y) {
  y[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
  y[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

// The segment's 2x2 outputs from M [16][Cout'][32]: A^T m A, the bias and the ReLU; lanes
// interleaved back into pixels (tile l's columns 2l and 2l + 1), rows and columns past the
// output's edge not stored.
__attribute__((target("avx512f,prfchw"))) void output_transform(const WinogradShape& s, const Segment& g, const float* m,
                                                         int64_t m_rows, const float* bias, bool relu, float* out) {
  const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const __m512 zero = _mm512_setzero_ps();
  const int64_t x0 = 2 * g.tile_col, y0 = 2 * g.tile_row;
  const int64_t pixels = std::min(2 * g.length, s.out_w - x0);
  const __mmask16 store0 = lanes_inside(0, pixels), store1 = lanes_inside(16, pixels);
  const int64_t rows = std::min<int64_t>(2, s.out_h - y0);
  for (int64_t o = 0; o < s.out_channels; ++o) {
    const float* mo = m + o * kWinogradBlock + g.column;
    __m512 a[4][4];
    for (int64_t xi = 0; xi < kPositions; ++xi) a[xi / 4][xi % 4] = _mm512_loadu_ps(mo + xi * position_stride(m_rows));
    __m512 t[2][4], column[2], y[2][2];
    for (int64_t j = 0; j < 4; ++j) {  // A^T m, column by column
      const __m512 r[4] = {a[0][j], a[1][j], a[2][j], a[3][j]};
      output_rows(r, column);
      t[0][j] = column[0];
      t[1][j] = column[1];
    }
    const __m512 b = _mm512_set1_ps(bias != nullptr ? bias[o] : 0.0f);
    float* plane = out + ((g.sample * s.out_channels + o) * s.out_h + y0) * s.out_w + x0;
    if (y0 + 3 < s.out_h)  // Note [Winograd prefetch]: the next tile row's output lines
      for (int64_t r = 2; r < 4; ++r) {
        __builtin_prefetch(plane + r * s.out_w, 1, 3);
        __builtin_prefetch(plane + r * s.out_w + 16, 1, 3);
      }
    for (int64_t i = 0; i < rows; ++i) {  // (A^T m) A, row by row
      output_rows(t[i], y[i]);
      __m512 left = _mm512_add_ps(y[i][0], b), right = _mm512_add_ps(y[i][1], b);
      if (relu) left = _mm512_max_ps(left, zero), right = _mm512_max_ps(right, zero);
      _mm512_mask_storeu_ps(plane + i * s.out_w, store0, _mm512_permutex2var_ps(left, low, right));
      _mm512_mask_storeu_ps(plane + i * s.out_w + 16, store1, _mm512_permutex2var_ps(left, high, right));
    }
  }
}

}  // namespace

bool winograd_supported() { return active_isa() == Isa::avx512; }

WinogradShape winograd_adjoint(const WinogradShape& s) {
  return {.batch = s.batch, .in_channels = s.out_channels, .in_h = s.out_h, .in_w = s.out_w,
          .out_channels = s.in_channels, .out_h = s.in_h, .out_w = s.in_w, .pad_top = 2 - s.pad_top,
          .pad_left = 2 - s.pad_left};
}

int64_t winograd_blocks(const WinogradShape& s) { return (s.tiles() + kWinogradBlock - 1) / kWinogradBlock; }

int64_t winograd_packed_floats(const WinogradShape& s) {
  return kPositions * padded_rows(s.out_channels) * s.in_channels;
}

int64_t winograd_block_floats(const WinogradShape& s) {
  return kPositions * (position_stride(s.in_channels) + position_stride(padded_rows(s.out_channels)));
}

void winograd_pack(const WinogradShape& s, const float* weight, bool adjoint, int64_t xi, float* packed) {
  const WinogradShape t = adjoint ? winograd_adjoint(s) : s;
  const int64_t rows = padded_rows(t.out_channels), depth = t.in_channels;
  const RowSplit split = split_rows(t.out_channels, microkernel_for(Isa::avx512));
  // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]; U[xi] = (G g G^T)[xi / 4][xi % 4].
  static constexpr float kG[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
  const int64_t r = xi / 4, q = xi % 4;
  float* u = packed + xi * rows * depth;
  for (int64_t k = 0; k < split.count(); ++k) {
    const RowTile tile = split.at(k);
    float* panel = u + tile.row * depth;  // [depth][height]
    for (int64_t c = 0; c < depth; ++c)
      for (int64_t i = 0; i < tile.height; ++i) {
        const int64_t m = tile.row + i;
        float sum = 0.0f;
        if (m < t.out_channels)
          for (int64_t kh = 0; kh < 3; ++kh)
            for (int64_t kw = 0; kw < 3; ++kw) {
              // Target output channel m, input channel c; the adjoint flips and transposes.
              const float w = adjoint ? weight[((c * s.in_channels + m) * 3 + 2 - kh) * 3 + 2 - kw]
                                      : weight[((m * s.in_channels + c) * 3 + kh) * 3 + kw];
              sum += kG[r][kh] * w * kG[q][kw];
            }
        panel[c * tile.height + i] = sum;
      }
  }
}

void winograd_block(const WinogradShape& s, const float* packed, const float* src, const float* gate,
                    const float* bias, bool relu, int64_t block, float* scratch, float* out) {
  const MicroKernelInfo mk = microkernel_for(Isa::avx512);
  const RowSplit split = split_rows(s.out_channels, mk);
  const int64_t rows = padded_rows(s.out_channels), depth = s.in_channels;
  const int64_t t0 = block * kWinogradBlock, t1 = std::min(s.tiles(), t0 + kWinogradBlock);
  Segment segments[kWinogradBlock];
  const int64_t count = block_segments(s, t0, t1, segments);
  const int64_t v_stride = position_stride(depth), m_stride = position_stride(rows);
  float* v = scratch;                            // [16][Cin][32], positions v_stride apart
  float* m = scratch + kPositions * v_stride;  // [16][Cout'][32], positions m_stride apart
  for (int64_t k = 0; k < count; ++k) {
    if (gate != nullptr)
      input_transform<true>(s, segments[k], src, gate, v);
    else
      input_transform<false>(s, segments[k], src, gate, v);
  }
  for (int64_t xi = 0; xi < kPositions; ++xi)
    for (int64_t k = 0; k < split.count(); ++k) {
      const RowTile tile = split.at(k);
      const MicroKernel kernel = tile.height == mk.mr ? mk.kernel : mk.kernel_short;
      kernel(depth, packed + (xi * rows + tile.row) * depth, v + xi * v_stride, kWinogradBlock,
             m + xi * m_stride + tile.row * kWinogradBlock, kWinogradBlock, false);
    }
  for (int64_t k = 0; k < count; ++k) output_transform(s, segments[k], m, rows, bias, relu, out);
}

}  // namespace convoy
