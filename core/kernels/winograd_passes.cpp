#include "core/kernels/winograd_passes.hpp"

#include <omp.h>

#include <algorithm>

#include "core/kernels/conv2d_scratch.hpp"
#include "core/kernels/conv2d_weight_groups.hpp"
#include "core/kernels/winograd.hpp"
#include "core/kernels/winograd_transforms.hpp"

namespace convoy {
namespace {

bool accepts_forward(const Conv2dGeometry& g, int) {
  // An odd size computes a last row or column of tiles half in vain; at keras-cnn's 13x13 (11x11
  // output, 144 computed) that is worth it, at its 5x5 (3x3 output, 16 computed) it is not.
  auto little_waste = [](int64_t h, int64_t w) { return 4 * ((h + 1) / 2) * ((w + 1) / 2) * 4 <= 5 * h * w; };
  // On planes of 16 pixels or fewer, a few tiles a sample, samples as columns measured faster:
  // ResNet-18's last stages at 64x64 inputs, 4x4 and 2x2, 1.2x and 2.5x (`convoy bench --shapes
  // --every-kernel`, 2 threads, this machine's AVX-512 Xeon).
  return winograd_supported() && g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 &&
         g.in_channels >= 16 && g.out_channels >= 16 && little_waste(g.out_h, g.out_w) &&
         little_waste(g.in_h, g.in_w) && g.out_pixels() > 16;
}

WinogradShape winograd_shape(const Conv2dGeometry& g) {
  return {.batch = g.batch,
          .in_channels = g.in_channels,
          .in_h = g.in_h,
          .in_w = g.in_w,
          .out_channels = g.out_channels,
          .out_h = g.out_h,
          .out_w = g.out_w,
          .pad_top = g.pad_top,
          .pad_left = g.pad_left};
}

// On a narrow plane (Note [Winograd segments]) of odd size, backward-data's last tile row and
// column are half in vain: on keras-cnn's 13x13 layer it measured no faster than the other
// kernels (138 GFLOP/s, im2col 140, samples as columns 145), while forward gains 40%. On even
// narrow planes it wins: resnet20's 64 channels at 8x8, 1 thread, 149-162 GFLOP/s against
// samples as columns' 45-105, ResNet-18's and GoogLeNet's 8x8 layers at 64x64 inputs 1.1-2x
// (`convoy bench --shapes --every-kernel` with those shapes added, this machine's Zen 4).
bool accepts_backward_data(const Conv2dGeometry& g, int threads) {
  return accepts_forward(g, threads) && !g.fused_pool &&
         (!winograd_narrow(winograd_adjoint(winograd_shape(g))) || (g.in_h % 2 == 0 && g.in_w % 2 == 0));
}

// Note [Winograd weight gradient]: wide planes, pooled or not, and narrow planes unpooled. On the
// narrow planes it measured 1.2-1.6x im2col (keras-cnn's 13x13 layer unpooled, resnet20's 64
// channels at 8x8, ResNet-18's and GoogLeNet's at 64x64 inputs; 1 thread, the same runs);
// pooled narrow planes (keras-cnn's) were not measured and keep im2col.
bool accepts_weights(const Conv2dGeometry& g, int threads) {
  return accepts_forward(g, threads) && !(g.fused_pool && winograd_narrow(winograd_shape(g)));
}

// Per thread a block's V and M; shared the transformed weights U.
ScratchSplit split(const WinogradShape& s, int threads) { return split_scratch(winograd_block_floats(s), threads); }

int64_t forward_floats(const Conv2dGeometry& g, int threads) {
  const WinogradShape s = winograd_shape(g);
  return split(s, threads).floats(winograd_packed_floats(s));
}
int64_t backward_data_floats(const Conv2dGeometry& g, int threads) {
  const WinogradShape s = winograd_adjoint(winograd_shape(g));
  return split(s, threads).floats(winograd_packed_floats(s));
}
int64_t weights_floats(const Conv2dGeometry& g, int threads) {
  return split_scratch(winograd_weight_floats(winograd_shape(g)), threads).floats(weight_partials_floats(g, threads));
}

// The weights transformed once per call (forward's, or with adjoint backward-data's), then
// every block of tiles from src into out.
void pass(const Conv2dGeometry& g, const float* weight, bool adjoint, const float* src, const float* gate,
          const float* bias, float* out, uint8_t* winners, float* scratch, int threads) {
  const WinogradShape forward = winograd_shape(g), s = adjoint ? winograd_adjoint(forward) : forward;
  const ScratchSplit parts = split(s, threads);
  float* packed = parts.shared(scratch);
  const auto pack = [&](int64_t t) { winograd_pack(forward, weight, adjoint, t, packed); };
  pack_then_items(parts, scratch, winograd_pack_tiles(s), pack, winograd_blocks(s), [&](float* own, int64_t b) {
    winograd_block(s, packed, src, gate, bias, g.fused_relu && !adjoint, b, own, out, winners);
  });
}

void forward(const Conv2dGeometry& g, const Conv2dForwardArgs& a, float* scratch, int threads) {
  pass(g, a.weight, false, a.input, nullptr, a.bias, a.output, g.fused_pool ? a.pool_winners : nullptr, scratch,
       threads);
}

void backward_data(const Conv2dGeometry& g, const Conv2dBackwardDataArgs& a, float* scratch, int threads) {
  pass(g, a.weight, true, a.output_grad, g.fused_relu ? a.output : nullptr, nullptr, a.input_grad, nullptr, scratch,
       threads);
}

void backward_weights(const Conv2dGeometry& g, const Conv2dBackwardWeightsArgs& a, float* scratch, int threads) {
  const WinogradShape s = winograd_shape(g);
  const ScratchSplit parts = split_scratch(winograd_weight_floats(s), threads);
  const bool gated = g.fused_relu && !g.fused_pool;  // pooled: the winner codes gate
  weight_grad_in_groups(g, PartialLayout::patch_major, parts.shared(scratch), threads, a.weight_grad, a.bias_grad,
                        [&](int t, int64_t n0, int64_t n1, float* partial, float* bias_sums) {
                          winograd_weight_grad(s, a.input, a.output_grad, gated ? a.output : nullptr,
                                               g.fused_pool ? a.pool_winners : nullptr, n0, n1, parts.own(scratch, t),
                                               partial, bias_sums);
                        });
}

}  // namespace

const Conv2dForwardImpl kWinogradForward = {"winograd", accepts_forward, forward_floats, forward};
const Conv2dBackwardDataImpl kWinogradBackwardData = {"winograd", accepts_backward_data, backward_data_floats,
                                                      backward_data};
const Conv2dBackwardWeightsImpl kWinogradBackwardWeights = {"winograd", accepts_weights, weights_floats,
                                                            backward_weights};

}  // namespace convoy
