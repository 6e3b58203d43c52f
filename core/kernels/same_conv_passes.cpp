#include "core/kernels/same_conv_passes.hpp"

#include <algorithm>
#include <utility>

#include "core/kernels/conv2d_epilogue.hpp"
#include "core/kernels/conv2d_scratch.hpp"
#include "core/kernels/same_conv.hpp"

namespace convoy {
namespace {

bool accepts(const Conv2dGeometry& g, int) {
  const int64_t pixels = g.out_pixels(), strips = (pixels + kSameConvStrip - 1) / kSameConvStrip;
  return same_conv_supported() && g.stride_h == 1 && g.stride_w == 1 && g.out_h == g.in_h && g.out_w == g.in_w &&
         !g.fused_pool && g.kernel_h * g.kernel_w <= kSameConvMaxTaps && g.in_channels >= 16 && g.out_channels >= 16 &&
         pixels >= 256 && strips * kSameConvStrip * 16 <= pixels * 17;
}

SameConvShape same_shape(const Conv2dGeometry& g) {
  return {.h = g.out_h,
          .w = g.out_w,
          .kernel_h = g.kernel_h,
          .kernel_w = g.kernel_w,
          .pad_top = g.pad_top,
          .pad_left = g.pad_left,
          .in_channels = g.in_channels,
          .out_channels = g.out_channels};
}

// A sample's strips in chunks of at most 16 (512 pixels), fixed by the geometry.
struct SameChunks {
  int64_t strips, per_sample;
  // Pixels [j0, j1) of a sample's chunk k.
  std::pair<int64_t, int64_t> pixels(const Conv2dGeometry& g, int64_t k) const {
    return {k * strips / per_sample * kSameConvStrip,
            std::min(g.out_pixels(), (k + 1) * strips / per_sample * kSameConvStrip)};
  }
};

SameChunks same_chunks(const Conv2dGeometry& g) {
  const int64_t strips = (g.out_pixels() + kSameConvStrip - 1) / kSameConvStrip;
  return {strips, (strips + 15) / 16};
}

// Backward-data's masked output gradient for one chunk: every row its pixels' taps reach.
int64_t band_floats(const Conv2dGeometry& g) {
  const int64_t rows = 16 * kSameConvStrip / g.out_w + 2 + g.kernel_h - 1;
  return g.out_channels * std::min(rows, g.out_h) * g.out_w;
}

// Forward: the packed weights only; backward-data: a band per thread too.
ScratchSplit split(const Conv2dGeometry& g, bool adjoint, int threads) {
  return split_scratch(adjoint ? band_floats(g) : 0, threads);
}

int64_t forward_floats(const Conv2dGeometry& g, int threads) {
  return split(g, false, threads).floats(same_conv_packed_floats(same_shape(g)));
}
int64_t backward_data_floats(const Conv2dGeometry& g, int threads) {
  return split(g, true, threads).floats(same_conv_packed_floats(same_conv_adjoint(same_shape(g))));
}

// The weights packed once per call (forward's, or with adjoint backward-data's), then
// body(packed, the thread's region, sample, j0, j1) for every chunk [j0, j1) of every sample.
template <typename Body>
void for_same_chunks(const Conv2dGeometry& g, const float* weight, bool adjoint, float* scratch, int threads,
                     Body body) {
  const SameConvShape s = same_shape(g);
  const SameChunks chunks = same_chunks(g);
  const int64_t items = g.batch * chunks.per_sample, tiles = same_conv_tile_count(adjoint ? same_conv_adjoint(s) : s);
  const ScratchSplit parts = split(g, adjoint, threads);
  float* packed = parts.shared(scratch);
  pack_then_items(
      parts, scratch, tiles, [&](int64_t t) { same_conv_pack(s, weight, adjoint, t, packed); }, items,
      [&](float* own, int64_t i) {
        const auto [j0, j1] = chunks.pixels(g, i % chunks.per_sample);
        body(packed, own, i / chunks.per_sample, j0, j1);
      });
}

// Forward straight from the input to the output.
void forward(const Conv2dGeometry& g, const Conv2dForwardArgs& a, float* scratch, int threads) {
  const SameConvShape s = same_shape(g);
  const int64_t plane = g.out_pixels();
  for_same_chunks(g, a.weight, false, scratch, threads,
                  [&](const float* packed, float*, int64_t n, int64_t j0, int64_t j1) {
                    same_conv_pixels(s, packed, a.input + n * g.in_channels * plane, plane, a.bias, g.fused_relu, j0,
                                     j1, a.output + n * g.out_channels * plane, plane);
                  });
}

// Backward-data as the adjoint same convolution of the output gradient (masked by the fused
// ReLU into a band of the rows the chunk's taps reach, else read in place).
void backward_data(const Conv2dGeometry& g, const Conv2dBackwardDataArgs& a, float* scratch, int threads) {
  const SameConvShape adjoint = same_conv_adjoint(same_shape(g));
  const int64_t plane = g.out_pixels();
  for_same_chunks(g, a.weight, true, scratch, threads,
                  [&](const float* packed, float* band, int64_t n, int64_t j0, int64_t j1) {
                    const float* src = a.output_grad + n * g.out_channels * plane;
                    int64_t ld = plane;
                    if (g.fused_relu) {
                      const int64_t lo = std::max<int64_t>(0, j0 / g.out_w - adjoint.pad_top);
                      const int64_t hi = std::min(g.out_h, (j1 - 1) / g.out_w + g.kernel_h - adjoint.pad_top);
                      ld = (hi - lo) * g.out_w;
                      for (int64_t co = 0; co < g.out_channels; ++co)
                        relu_gradient(g, a.output, a.output_grad, (n * g.out_channels + co) * plane + lo * g.out_w, ld,
                                      band + co * ld);
                      src = band - lo * g.out_w;  // pixel p of the plane at src[p] for the band's rows
                    }
                    same_conv_pixels(adjoint, packed, src, ld, nullptr, false, j0, j1,
                                     a.input_grad + n * g.in_channels * plane, plane);
                  });
}

}  // namespace

const Conv2dForwardImpl kSameConvForward = {"same", accepts, forward_floats, forward};
const Conv2dBackwardDataImpl kSameConvBackwardData = {"same", accepts, backward_data_floats, backward_data};

}  // namespace convoy
