#include "core/kernels/winograd.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/cpu_features.hpp"
#include "core/kernels/gemm_microkernels.hpp"
#include "core/kernels/winograd_transforms.hpp"

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

int64_t winograd_pack_tiles(const WinogradShape& s) {
  return split_rows(s.out_channels, microkernel_for(Isa::avx512)).count();
}

void winograd_pack(const WinogradShape& s, const float* weight, bool adjoint, int64_t tile, float* packed) {
  const WinogradShape t = adjoint ? winograd_adjoint(s) : s;
  const int64_t rows = padded_rows(t.out_channels), depth = t.in_channels;
  const RowTile rt = split_rows(t.out_channels, microkernel_for(Isa::avx512)).at(tile);
  // G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1].
  static constexpr float kG[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
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

void winograd_block(const WinogradShape& s, const float* packed, const float* src, const float* gate,
                    const float* bias, bool relu, int64_t block, float* scratch, float* out, uint8_t* winners) {
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

}  // namespace convoy
