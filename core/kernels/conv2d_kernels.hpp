// Convolution kernels: forward, backward-data and backward-weights of a 2-D convolution, NCHW.
#pragma once

#include <cstdint>
#include <span>

#include "core/kernels/tree_sum.hpp"  // kWeightGradGroup

namespace convoy {

// Geometry of one convolution. Zero padding may differ per side (`same` with an even kernel).
struct Conv2dGeometry {
  int64_t batch = 0;
  int64_t in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // bottom/right padding is implied by out_h/out_w
  // Note [Fused ReLU]: forward applies max(0, .) after the bias, and the backward kernels take
  // the gradient of the ReLU's output and mask it by output > 0 sample by sample, while it is
  // in cache, instead of a separate ReLU layer streaming the whole activation twice more.
  bool fused_relu = false;
  // Note [Fused pooling]: with fused_relu, a 2x2 stride-2 max pool after the ReLU. The output is
  // then [N, Cout, OH/2, OW/2]: the full-size activation never reaches memory. Forward records
  // for each pooled value which of its window's four positions won (a byte: 0 top-left,
  // 1 top-right, 2 bottom-left, 3 bottom-right, kNoWinner where the ReLU gave 0), so backward
  // routes each gradient to its position without the activation or a recomputation.
  bool fused_pool = false;
  int64_t pooled_h() const { return fused_pool ? out_h / 2 : out_h; }
  int64_t pooled_w() const { return fused_pool ? out_w / 2 : out_w; }
  // The winners buffer: one byte per pooled value, plus slack for 16-byte vector reads at its end.
  int64_t pool_winner_bytes() const { return fused_pool ? batch * out_channels * pooled_h() * pooled_w() + 16 : 0; }

  int64_t patch() const { return in_channels * kernel_h * kernel_w; }  // GEMM depth
  int64_t out_pixels() const { return out_h * out_w; }
  double forward_flops() const { return 2.0 * batch * out_channels * out_pixels() * patch(); }
};

// Floats of scratch the three passes below need with `threads` threads: the most any of the
// implementations they choose needs. Each pass takes its scratch as a span, checked against
// this size in debug builds (CONVOY_DEBUG_ASSERT).
int64_t conv2d_scratch_floats(const Conv2dGeometry& g, int threads);

// Note [Convolution implementation tables]
// Each pass has one ordered table of implementations, as oneDNN's implementation lists: the
// first entry whose accepts(g, threads) holds serves the pass. An entry is all the pass needs
// of it: a name (`convoy bench --shapes` prints it, the test that pins the choice compares
// it), accepts, the floats of scratch it needs (conv2d_scratch_floats takes the chosen ones')
// and run, which gets the whole scratch span and lays it out itself. The last entry of each
// table accepts every geometry. Adding an implementation is adding one entry (core/README.md,
// "Adding a convolution kernel").
struct Conv2dForwardArgs {
  const float* input;   // [N, Cin, H, W]
  const float* weight;  // [Cout, Cin, KH, KW]
  const float* bias;    // [Cout] or null
  float* output;        // [N, Cout, OH, OW] (pooled: [N, Cout, OH/2, OW/2]), overwritten
  uint8_t* pool_winners;
};
struct Conv2dBackwardDataArgs {
  const float* output;  // read with fused_relu and without fused_pool, else may be null
  const float* output_grad;
  const float* weight;
  float* input_grad;  // [N, Cin, H, W], overwritten
  const uint8_t* pool_winners;
};
struct Conv2dBackwardWeightsArgs {
  const float* input;
  const float* output;  // as in Conv2dBackwardDataArgs
  const float* output_grad;
  float* weight_grad;  // [Cout, Cin, KH, KW], accumulated into
  float* bias_grad;    // [Cout] or null, accumulated into
  const uint8_t* pool_winners;
};

template <typename Args>
struct Conv2dImpl {
  const char* name;
  bool (*accepts)(const Conv2dGeometry& g, int threads);
  int64_t (*scratch_floats)(const Conv2dGeometry& g, int threads);
  void (*run)(const Conv2dGeometry& g, const Args& args, float* scratch, int threads);
};
using Conv2dForwardImpl = Conv2dImpl<Conv2dForwardArgs>;
using Conv2dBackwardDataImpl = Conv2dImpl<Conv2dBackwardDataArgs>;
using Conv2dBackwardWeightsImpl = Conv2dImpl<Conv2dBackwardWeightsArgs>;

// The three tables, in order of preference on the active instruction set.
std::span<const Conv2dForwardImpl> conv2d_forward_impls();
std::span<const Conv2dBackwardDataImpl> conv2d_backward_data_impls();
std::span<const Conv2dBackwardWeightsImpl> conv2d_backward_weights_impls();

// The entry that serves each pass of g with `threads` threads: the first that accepts.
struct Conv2dChoice {
  const Conv2dForwardImpl* forward;
  const Conv2dBackwardDataImpl* backward_data;
  const Conv2dBackwardWeightsImpl* backward_weights;
};
Conv2dChoice conv2d_choice(const Conv2dGeometry& g, int threads);

constexpr uint8_t kNoWinner = 4;

// input  [N, Cin, H, W]; weight [Cout, Cin, KH, KW]; bias [Cout] or null; output [N, Cout, OH, OW].
// Overwrites output, and with fused_pool pool_winners [N, Cout, OH/2, OW/2] (else may be null).
// Parallel over samples (or what the chosen implementation splits).
void conv2d_forward(const Conv2dGeometry& g, const float* input, const float* weight, const float* bias, float* output,
                    std::span<float> scratch, int threads, uint8_t* pool_winners = nullptr);

// output_grad [N, Cout, OH, OW]; weight [Cout, Cin, KH, KW]; input_grad [N, Cin, H, W] (overwritten).
// output [N, Cout, OH, OW] is read only with fused_relu and without fused_pool (else may be
// null). With fused_pool, output_grad is the pooled output's gradient and pool_winners are
// forward's. Parallel over samples.
void conv2d_backward_data(const Conv2dGeometry& g, const float* output, const float* output_grad, const float* weight,
                          float* input_grad, std::span<float> scratch, int threads,
                          const uint8_t* pool_winners = nullptr);

// input [N, Cin, H, W]; output_grad [N, Cout, OH, OW]; weight_grad [Cout, Cin, KH, KW] and
// bias_grad [Cout] (or null) are accumulated into. Note [Weight-gradient groups]: samples are
// summed in fixed groups of kWeightGradGroup, and the groups added in the fixed tree (Note
// [Fixed summation tree]), so the bits depend on the batch only, never on the thread count, and
// ranks holding whole subtrees reproduce one rank's sum. output and pool_winners as in
// conv2d_backward_data.
void conv2d_backward_weights(const Conv2dGeometry& g, const float* input, const float* output, const float* output_grad,
                             float* weight_grad, float* bias_grad, std::span<float> scratch, int threads,
                             const uint8_t* pool_winners = nullptr);

}  // namespace convoy
