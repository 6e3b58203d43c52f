// Direct convolution of stride-1 `same` layers (output as large as the input), read in place.
#pragma once

#include <cstdint>

namespace convoy {

// Note [Same convolution]
// When a stride-1 convolution's output has its input's size (3x3 pad 1, 5x5 pad 2: VGG, ResNet,
// Inception), output pixel j = y * W + x meets, through tap (kh, kw), input pixel
// j + (kh - pad_top) * W + (kw - pad_left) of every channel: one shift for all pixels. So 32
// consecutive output pixels of MR output channels are a GEMM tile whose B rows are the input
// shifted per tap, read in place with masked loads (a lane whose tap falls in the padding, or
// across a row's end into the next row, loads 0). No im2col, no padded copy, no junk columns,
// no intermediate result: the sum over every tap and channel stays in registers and the bias,
// ReLU and store happen on the accumulators.
// Backward-data is the same convolution of the output gradient, with the weights transposed
// and flipped and the padding K - 1 - pad (same_conv_adjoint).
struct SameConvShape {
  int64_t h = 0, w = 0;  // the plane, input and output alike
  int64_t kernel_h = 0, kernel_w = 0, pad_top = 0, pad_left = 0;
  int64_t in_channels = 0, out_channels = 0;
  int64_t taps() const { return kernel_h * kernel_w; }
  int64_t plane() const { return h * w; }
};

// The shape of backward-data: out_channels and in_channels swapped, padding K - 1 - pad.
SameConvShape same_conv_adjoint(const SameConvShape& s);

// Floats of the packed weights of a shape (its output channels in register tiles).
int64_t same_conv_packed_floats(const SameConvShape& s);

// The output channels' register tiles (Note [GEMM row tiles]). same_conv_pack packs one of them
// from weight [Cout, Cin, KH, KW] for shape s or, with adjoint, for same_conv_adjoint(s) (the
// same array transposed and flipped; tile then counts same_conv_adjoint(s)'s tiles).
int64_t same_conv_tile_count(const SameConvShape& s);
void same_conv_pack(const SameConvShape& s, const float* weight, bool adjoint, int64_t tile, float* packed);

// out[m, j] = act(bias[m] + sum over taps and channels) for pixels j in [j0, j1) of the plane,
// every output channel m. The source's channel c pixel p is at src[c * src_ld + p] and is read
// only where the tap falls inside the plane, and only for output pixels in [j0, j1) (so src may
// be a band of rows; its address is then virtual). out's channel m pixel j is at out[m * out_ld + j].
// bias may be null. AVX-512 only (same_conv_supported).
void same_conv_pixels(const SameConvShape& s, const float* packed, const float* src, int64_t src_ld,
                      const float* bias, bool relu, int64_t j0, int64_t j1, float* out, int64_t out_ld);

// The pixel block the passes hand out: a whole number of 32-pixel strips.
constexpr int64_t kSameConvStrip = 32;
// Kernel taps (KH * KW) the strip masks have room for.
constexpr int64_t kSameConvMaxTaps = 64;

bool same_conv_supported();

}  // namespace convoy
