// Winograd F(2x2, 3x3): stride-1 3x3 convolutions in 16 small GEMMs instead of 9 taps.
#pragma once

#include <cstdint>

namespace convoy {

// Note [Winograd F(2x2, 3x3)]
// A 2x2 block of a 3x3 convolution's output is A^T [(G g G^T) . (B^T d B)] A, where d is the
// 4x4 input tile under it and g the 3x3 kernel: 16 products per input channel instead of 36.
// Summed over input channels the products are 16 independent GEMMs, one per position xi of
// the 4x4 tile:  M[xi] [Cout, tiles] = U[xi] [Cout, Cin] . V[xi] [Cin, tiles],  with
// U = G g G^T (the weights, transformed once per call) and V = B^T d B (the input, transformed
// per tile). So a 3x3 layer costs 2.25 times fewer multiplies, at the price of the two
// transforms: additions and permutes only, yet about half the time of a 64-channel pass, the
// GEMMs being the other half (which is why they need 16 channels or more to pay).
// The matrices hold only 0, +-1 and 1/2: the rounding stays that of a direct sum of a few
// more terms, within the naive reference's tolerance.
//
// Tiles are numbered across the batch (sample, tile row, tile column) and taken 32 at a time,
// one microkernel width (Note [Winograd segments]): a block transforms its tiles' input into
// V [16][Cin][32] in the thread's scratch, runs the 16 GEMMs into M [16][Cout'][32] (Cout' =
// Cout in whole register tiles) and transforms M back into the output, with the bias and ReLU. Blocks are fixed by
// the geometry, so the bits do not depend on the thread count.
// Backward-data is the same convolution of the output gradient with the weights flipped and
// transposed (the adjoint, padding 2 - pad), masked by the fused ReLU while it is transformed.
struct WinogradShape {
  int64_t batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, out_h = 0, out_w = 0;
  int64_t pad_top = 0, pad_left = 0;  // bottom and right follow from out_h and out_w
  int64_t tile_rows() const { return (out_h + 1) / 2; }
  int64_t tile_cols() const { return (out_w + 1) / 2; }
  int64_t tiles() const { return batch * tile_rows() * tile_cols(); }
};

// Tiles per block: the microkernel's width.
constexpr int64_t kWinogradBlock = 32;

// Backward-data's shape: the output gradient in, the input gradient out, channels swapped.
WinogradShape winograd_adjoint(const WinogradShape& s);

int64_t winograd_blocks(const WinogradShape& s);

// Floats of the transformed weights U, and of one thread's V and M.
int64_t winograd_packed_floats(const WinogradShape& s);
int64_t winograd_block_floats(const WinogradShape& s);

// U in the microkernel's row tiles (Note [GEMM row tiles]) of the output channels: tile t of
// every position from weight [Cout, Cin, 3, 3] of the forward convolution s; with adjoint, for
// winograd_adjoint(s) (the weight flipped and transposed), whose tiles winograd_pack_tiles counts.
int64_t winograd_pack_tiles(const WinogradShape& s);
void winograd_pack(const WinogradShape& s, const float* weight, bool adjoint, int64_t tile, float* packed);

// One block of the convolution of src [N, Cin, in_h, in_w] into out [N, Cout, out_h, out_w]
// (its tiles' pixels overwritten): bias [Cout] (or null) added, then max(0, .) with relu.
// With winners (Note [Fused pooling]), each tile's 2x2 block is max-pooled instead: out is
// [N, Cout, out_h / 2, out_w / 2] and winners gets the codes. gate, when not null, has src's
// layout and zeroes src where gate <= 0 (the fused ReLU's gradient mask). scratch:
// winograd_block_floats. AVX-512 only (winograd_supported).
void winograd_block(const WinogradShape& s, const float* packed, const float* src, const float* gate, const float* bias,
                    bool relu, int64_t block, float* scratch, float* out, uint8_t* winners);

// Note [Winograd weight gradient]
// Backward-weights through the same transforms: with M = U . V per position and y = A^T M A,
// dU[xi] [Cout, Cin] = sum over tiles of dM[xi] [Cout, tiles] . V[xi]^T, dM = A dy A^T, and
// dW = G^T dU G. A block's 32 tiles are one microkernel depth: dM read in place as its A (no
// pack), V transposed as its B (Cin in vectors of 16, so that 16 channels are not padded to a
// 32-column tile), dU accumulated over the blocks of one weight-gradient group (Note
// [Weight-gradient groups]: 8 samples) in order, then turned into that group's partial dW. So
// the bits depend on the group's samples only, as with im2col. With the fused pooling the
// tiles are the pooling windows: the gradient is unpooled by the transform's loads.
int64_t winograd_weight_floats(const WinogradShape& s);

// partial [(c, kh, kw), Cout] = dW of samples [n0, n1) from input [N, Cin, H, W] and
// output_grad [N, Cout, OH, OW] (gated by gate > 0 when gate is not null; with winners, the
// pooled gradient and forward's winner codes); bias_sums [Cout] = the gradient's sums.
// scratch: winograd_weight_floats.
void winograd_weight_grad(const WinogradShape& s, const float* input, const float* output_grad, const float* gate,
                          const uint8_t* winners, int64_t n0, int64_t n1, float* scratch, float* partial,
                          float* bias_sums);

bool winograd_supported();

}  // namespace convoy
