#include "core/kernels/conv2d_kernels.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/im2col_conv.hpp"
#include "core/kernels/pointwise_conv.hpp"
#include "core/kernels/same_conv_passes.hpp"
#include "core/kernels/sample_columns_conv.hpp"
#include "core/kernels/shifted_rows_conv.hpp"
#include "core/kernels/winograd_passes.hpp"

namespace convoy {

// Note [Convolution implementation tables]: the first entry that accepts serves. Each entry
// checks the instruction set it needs itself. The same convolution (256 output pixels or more)
// and samples as columns (128 or fewer) never both accept; 1x1 layers go to the same
// convolution where it serves, then to plain GEMMs (Note [1x1 convolutions as GEMMs]) where
// their planes are wide enough (pointwise_conv.cpp says where), else to samples as columns
// (backward-data) and im2col.
std::span<const Conv2dForwardImpl> conv2d_forward_impls() {
  static const Conv2dForwardImpl table[] = {kWinogradForward,      kSameConvForward,    kPointwiseForward,
                                            kSampleColumnsForward, kShiftedRowsForward, kIm2colForward};
  return table;
}

std::span<const Conv2dBackwardDataImpl> conv2d_backward_data_impls() {
  static const Conv2dBackwardDataImpl table[] = {kWinogradBackwardData,    kSameConvBackwardData,
                                                 kPointwiseBackwardData,   kSampleColumnsBackwardData,
                                                 kShiftedRowsBackwardData, kIm2colBackwardData};
  return table;
}

std::span<const Conv2dBackwardWeightsImpl> conv2d_backward_weights_impls() {
  static const Conv2dBackwardWeightsImpl table[] = {kPointwiseBackwardWeights, kWinogradBackwardWeights,
                                                    kShiftedRowsBackwardWeights, kIm2colBackwardWeights};
  return table;
}

namespace {

template <typename Args>
const Conv2dImpl<Args>& first_accepting(std::span<const Conv2dImpl<Args>> table, const Conv2dGeometry& g, int threads) {
  for (const Conv2dImpl<Args>& impl : table)
    if (impl.accepts(g, threads)) return impl;
  CONVOY_ASSERT(false, "no convolution implementation accepts the geometry; the last entry must accept all");
  return table.back();
}

// The scratch a pass was given, checked in debug builds against what the layer planned: computing
// the need asks every pass's table again, too much for every call of a release build.
float* checked_scratch(const Conv2dGeometry& g, std::span<float> scratch, int threads) {
  CONVOY_DEBUG_ASSERT(static_cast<int64_t>(scratch.size()) >= conv2d_scratch_floats(g, threads),
                      "convolution scratch of ", scratch.size(), " floats, the pass needs ",
                      conv2d_scratch_floats(g, threads));
  return scratch.data();
}

}  // namespace

Conv2dChoice conv2d_choice(const Conv2dGeometry& g, int threads) {
  return {&first_accepting(conv2d_forward_impls(), g, threads),
          &first_accepting(conv2d_backward_data_impls(), g, threads),
          &first_accepting(conv2d_backward_weights_impls(), g, threads)};
}

int64_t conv2d_scratch_floats(const Conv2dGeometry& g, int threads) {
  const Conv2dChoice c = conv2d_choice(g, threads);
  return std::max({c.forward->scratch_floats(g, threads), c.backward_data->scratch_floats(g, threads),
                   c.backward_weights->scratch_floats(g, threads)});
}

void conv2d_forward(const Conv2dGeometry& g, const float* input, const float* weight, const float* bias, float* output,
                    std::span<float> scratch, int threads, uint8_t* pool_winners) {
  first_accepting(conv2d_forward_impls(), g, threads)
      .run(g, {input, weight, bias, output, pool_winners}, checked_scratch(g, scratch, threads), threads);
}

void conv2d_backward_data(const Conv2dGeometry& g, const float* output, const float* output_grad, const float* weight,
                          float* input_grad, std::span<float> scratch, int threads, const uint8_t* pool_winners) {
  first_accepting(conv2d_backward_data_impls(), g, threads)
      .run(g, {output, output_grad, weight, input_grad, pool_winners}, checked_scratch(g, scratch, threads), threads);
}

void conv2d_backward_weights(const Conv2dGeometry& g, const float* input, const float* output, const float* output_grad,
                             float* weight_grad, float* bias_grad, std::span<float> scratch, int threads,
                             const uint8_t* pool_winners) {
  first_accepting(conv2d_backward_weights_impls(), g, threads)
      .run(g, {input, output, output_grad, weight_grad, bias_grad, pool_winners}, checked_scratch(g, scratch, threads),
           threads);
}

}  // namespace convoy
