#include "core/kernels/winograd.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/cpu_features.hpp"
#include "core/kernels/gemm_microkernels.hpp"
#include "core/kernels/winograd_transforms.hpp"

namespace convoy {
namespace {

constexpr int64_t kPositions = 16;  // the 4x4 tile's positions xi = 4 * row + column

// The weights' transform: U = G g G^T.
constexpr float kG[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};

// M's rows: Cout in whole register tiles (Note [GEMM row tiles]), the edge tile's padding too.
int64_t padded_rows(int64_t m) { return split_rows(m, microkernel_for(Isa::avx512)).padded(); }

// V's and M's floats per position xi: one more cache line than the matrix, so that the 16
// positions of a column do not all fall in one L1 set (at 8 KB apart they did, and the
// transforms, which touch all 16, missed L1 on every access).
int64_t position_stride(int64_t rows) { return rows * kWinogradBlock + 16; }

}  // namespace

bool winograd_supported() { return active_isa() == Isa::avx512; }

WinogradShape winograd_adjoint(const WinogradShape& s) {
  return {.batch = s.batch,
          .in_channels = s.out_channels,
          .in_h = s.out_h,
          .in_w = s.out_w,
          .out_channels = s.in_channels,
          .out_h = s.in_h,
          .out_w = s.in_w,
          .pad_top = 2 - s.pad_top,
          .pad_left = 2 - s.pad_left};
}

int64_t winograd_blocks(const WinogradShape& s) { return (s.tiles() + kWinogradBlock - 1) / kWinogradBlock; }

int64_t winograd_packed_floats(const WinogradShape& s) {
  return kPositions * padded_rows(s.out_channels) * s.in_channels;
}

int64_t winograd_block_floats(const WinogradShape& s) {
  return kPositions * (position_stride(s.in_channels) + position_stride(padded_rows(s.out_channels)));
}

int64_t winograd_pack_tiles(const WinogradShape& s) {
  return split_rows(s.out_channels, microkernel_for(Isa::avx512)).count();
}

void winograd_pack(const WinogradShape& s, const float* weight, bool adjoint, int64_t tile, float* packed) {
  const WinogradShape t = adjoint ? winograd_adjoint(s) : s;
  const int64_t rows = padded_rows(t.out_channels), depth = t.in_channels;
  const RowTile rt = split_rows(t.out_channels, microkernel_for(Isa::avx512)).at(tile);
  for (int64_t c = 0; c < depth; ++c)
    for (int64_t i = 0; i < rt.height; ++i) {
      const int64_t m = rt.row + i;  // target output channel m, input channel c
      float g[3][3] = {};
      if (m < t.out_channels)
        for (int64_t kh = 0; kh < 3; ++kh)
          for (int64_t kw = 0; kw < 3; ++kw)  // the adjoint flips and transposes
            g[kh][kw] = adjoint ? weight[((c * s.in_channels + m) * 3 + 2 - kh) * 3 + 2 - kw]
                                : weight[((m * s.in_channels + c) * 3 + kh) * 3 + kw];
      float gg[4][3];  // G g
      for (int64_t r = 0; r < 4; ++r)
        for (int64_t k = 0; k < 3; ++k) gg[r][k] = kG[r][0] * g[0][k] + kG[r][1] * g[1][k] + kG[r][2] * g[2][k];
      for (int64_t r = 0; r < 4; ++r)
        for (int64_t q = 0; q < 4; ++q)  // (G g G^T)[r][q] into position 4 r + q's panel [depth][height]
          packed[(4 * r + q) * rows * depth + rt.row * depth + c * rt.height + i] =
              gg[r][0] * kG[q][0] + gg[r][1] * kG[q][1] + gg[r][2] * kG[q][2];
    }
}

void winograd_block(const WinogradShape& s, const float* packed, const float* src, const float* gate, const float* bias,
                    bool relu, int64_t block, float* scratch, float* out, uint8_t* winners) {
  const MicroKernelInfo mk = microkernel_for(Isa::avx512);
  const RowSplit split = split_rows(s.out_channels, mk);
  const int64_t rows = padded_rows(s.out_channels), depth = s.in_channels;
  const int64_t t0 = block * kWinogradBlock, t1 = std::min(s.tiles(), t0 + kWinogradBlock);
  WinogradSegment segments[kWinogradBlock];
  const int64_t count = winograd_segments(s, t0, t1, segments);
  const int64_t v_stride = position_stride(depth), m_stride = position_stride(rows);
  float* v = scratch;                          // [16][Cin][32], positions v_stride apart
  float* m = scratch + kPositions * v_stride;  // [16][Cout'][32], positions m_stride apart
  for (int64_t k = 0; k < count; ++k) winograd_input(s, segments[k], src, gate, v, v_stride);
  const int64_t tiles = split.count();
  for (int64_t xi = 0; xi < kPositions; ++xi)
    for (int64_t k = 0; k < tiles; ++k) {
      const RowTile tile = split.at(k);
      const MicroKernel kernel = tile.height == mk.mr ? mk.kernel : mk.kernel_short;
      kernel(depth, packed + (xi * rows + tile.row) * depth, v + xi * v_stride, kWinogradBlock,
             m + xi * m_stride + tile.row * kWinogradBlock, kWinogradBlock, false);
    }
  for (int64_t k = 0; k < count; ++k) winograd_output(s, segments[k], m, m_stride, bias, relu, out, winners);
}

namespace {

// dU's columns: Cin in whole vectors of 16, so that 16 channels (resnet20's first stage) are
// one vector, not half of a 32-column tile.
int64_t columns16(int64_t n) { return (n + 15) / 16 * 16; }

// Backward-weights' scratch: V and Y [16][channels][32] as the transforms write them (Y with
// Cout' rows, Cout in whole register tiles, the microkernel reading it in place as its A), then
// V^T [16][32][Cin'] (Cin' = Cin in whole vectors) and dU [16][Cout'][Cin'].
struct WeightBuffers {
  float *v, *y, *vt, *du;
  int64_t v_stride, y_stride, cin, rows;
};

WeightBuffers weight_buffers(const WinogradShape& s, float* scratch) {
  WeightBuffers b{};
  b.v_stride = position_stride(s.in_channels);
  b.rows = padded_rows(s.out_channels);
  b.y_stride = position_stride(b.rows);
  b.cin = columns16(s.in_channels);
  b.v = scratch;
  b.y = b.v + kPositions * b.v_stride;
  b.vt = b.y + kPositions * b.y_stride;
  b.du = b.vt + kPositions * kWinogradBlock * b.cin;
  return b;
}

}  // namespace

int64_t winograd_weight_floats(const WinogradShape& s) {
  const WeightBuffers b = weight_buffers(s, nullptr);
  return (b.du - b.v) + kPositions * b.rows * b.cin;
}

void winograd_weight_grad(const WinogradShape& s, const float* input, const float* output_grad, const float* gate,
                          const uint8_t* winners, int64_t n0, int64_t n1, float* scratch, float* partial,
                          float* bias_sums) {
  const MicroKernelInfo mk = microkernel_for(Isa::avx512);
  const RowSplit split = split_rows(s.out_channels, mk);
  const WeightBuffers b = weight_buffers(s, scratch);
  const int64_t per_sample = s.tile_rows() * s.tile_cols(), tiles = split.count();
  // Y's padding rows (the edge tile's) are read as A but never written by the transform: zero,
  // so that the padding rows of dU, which nothing reads, at least stay finite.
  for (int64_t xi = 0; xi < kPositions; ++xi)
    std::fill(b.y + xi * b.y_stride + s.out_channels * kWinogradBlock, b.y + xi * b.y_stride + b.rows * kWinogradBlock,
              0.0f);
  WinogradSegment segments[kWinogradBlock];
  for (int64_t t0 = n0 * per_sample, first = t0; t0 < n1 * per_sample; t0 += kWinogradBlock) {
    const int64_t t1 = std::min(n1 * per_sample, t0 + kWinogradBlock), length = t1 - t0;
    const int64_t count = winograd_segments(s, t0, t1, segments);
    for (int64_t k = 0; k < count; ++k) {
      winograd_input(s, segments[k], input, nullptr, b.v, b.v_stride);
      winograd_gradient_input(s, segments[k], output_grad, gate, winners, b.y, b.y_stride);
    }
    for (int64_t xi = 0; xi < kPositions; ++xi) {
      float* v = b.v + xi * b.v_stride;
      float* y = b.y + xi * b.y_stride;
      // A short last block's idle lanes add nothing to the sums.
      if (length < kWinogradBlock) {
        for (int64_t c = 0; c < s.in_channels; ++c)
          std::fill(v + c * kWinogradBlock + length, v + (c + 1) * kWinogradBlock, 0.0f);
        for (int64_t o = 0; o < s.out_channels; ++o)
          std::fill(y + o * kWinogradBlock + length, y + (o + 1) * kWinogradBlock, 0.0f);
      }
      // The bias's gradient: position (1, 1) of A dy A^T is the sum of the tile's four.
      if (xi == 5)
        for (int64_t o = 0; o < s.out_channels; ++o) {
          float sum = 0.0f;
          for (int64_t t = 0; t < kWinogradBlock; ++t) sum += y[o * kWinogradBlock + t];
          bias_sums[o] = (t0 != first ? bias_sums[o] : 0.0f) + sum;
        }
      float* vt = b.vt + xi * kWinogradBlock * b.cin;
      mk.pack_transposed(v, kWinogradBlock, s.in_channels, kWinogradBlock, b.cin, vt);
      for (int64_t k = 0; k < tiles; ++k) {
        const RowTile rt = split.at(k);
        const int short_rows = rt.height == mk.mr ? 0 : 1;
        float* du = b.du + (xi * b.rows + rt.row) * b.cin;
        for (int64_t j = 0; j < b.cin; j += mk.nr) {
          const int half = b.cin - j < mk.nr ? 1 : 0;
          mk.kernel_in_place_a[short_rows][half](kWinogradBlock, y + rt.row * kWinogradBlock, kWinogradBlock, vt + j,
                                                 b.cin, du + j, b.cin, t0 != first);
        }
      }
    }
  }
  // dW = G^T dU G into partial [(c, kh, kw), Cout].
  for (int64_t o = 0; o < s.out_channels; ++o)
    for (int64_t c = 0; c < s.in_channels; ++c) {
      float du[4][4], gu[3][4];  // gu = G^T dU
      for (int64_t xi = 0; xi < kPositions; ++xi) du[xi / 4][xi % 4] = b.du[(xi * b.rows + o) * b.cin + c];
      for (int64_t kh = 0; kh < 3; ++kh)
        for (int64_t q = 0; q < 4; ++q)
          gu[kh][q] = kG[0][kh] * du[0][q] + kG[1][kh] * du[1][q] + kG[2][kh] * du[2][q] + kG[3][kh] * du[3][q];
      for (int64_t kh = 0; kh < 3; ++kh)
        for (int64_t kw = 0; kw < 3; ++kw)
          partial[((c * 3 + kh) * 3 + kw) * s.out_channels + o] =
              gu[kh][0] * kG[0][kw] + gu[kh][1] * kG[1][kw] + gu[kh][2] * kG[2][kw] + gu[kh][3] * kG[3][kw];
    }
}

}  // namespace convoy
