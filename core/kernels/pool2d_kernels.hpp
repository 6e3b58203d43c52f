// Pooling kernels: max and average over 2-D windows, forward and backward, NCHW.
#pragma once

#include <cstdint>

namespace convoy {

struct Pool2dGeometry {
  int64_t batch = 0, channels = 0;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t window_h = 0, window_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
};

// input [N, C, H, W] -> output [N, C, OH, OW] (overwritten). Padding never wins a max.
// Parallel over (sample, channel) planes.
void max_pool2d_forward(const Pool2dGeometry& g, const float* input, float* output, int threads);

// input_grad [N, C, H, W] is overwritten: each window's output_grad goes to the first position
// holding the window's maximum (recomputed from input, so forward stores nothing).
void max_pool2d_backward(const Pool2dGeometry& g, const float* input, const float* output_grad,
                         float* input_grad, int threads);

// The winner of output (oy, ox)'s window, clipped to the input: the offset in the plane of its
// first position (row-major) holding the window's maximum, or of its first position when nothing
// in it is above -inf (NaN never wins otherwise).
int64_t max_pool_winner(const Pool2dGeometry& g, const float* plane, int64_t oy, int64_t ox);

// Mean over the window's positions inside the input (padding is not counted, as in Keras).
void avg_pool2d_forward(const Pool2dGeometry& g, const float* input, float* output, int threads);
void avg_pool2d_backward(const Pool2dGeometry& g, const float* output_grad, float* input_grad, int threads);

}  // namespace convoy
