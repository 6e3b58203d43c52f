// Max pooling over 3x3 windows with AVX-512: GoogLeNet's, ResNet's and AlexNet's pools.
#pragma once

#include <cstdint>

#include "core/kernels/pool2d_kernels.hpp"

namespace convoy {

// Note [3x3 max pooling in vectors]
// Each plane is copied into a buffer with -inf around it (padding never wins a max, and the
// windows that reach past the input in ceil mode read -inf too), so that every window is whole
// and 16 output columns are pooled at once: per window position one load (stride 2: every other
// float, gathered by a permute) and one vmaxps, whose rule (the first operand where it is
// greater, else the second) is the scalar scan's `v > best ? v : best`, so the values are those
// of the window-at-a-time code bit for bit. With stride 2 and at most 8 output columns a vector
// pools two output rows, lanes 0-7 and 8-15 (GoogLeNet's 3x3/2 at 16x16 and 8x8). Backward
// finds the same winner, the first position equal to the maximum in row-major order, as its
// offset in the plane (16 outputs at a time), then adds each output's gradient there in the
// scalar code's output order: the same sums. A window with nothing above -inf (all padding, -inf
// or NaN) goes to the scalar rule instead.
bool max_pool3x3_serves(const Pool2dGeometry& g);

// Planes [p0, p1) of max_pool2d_forward and max_pool2d_backward.
void max_pool3x3_forward(const Pool2dGeometry& g, const float* input, float* output, int64_t p0, int64_t p1);
void max_pool3x3_backward(const Pool2dGeometry& g, const float* input, const float* output_grad, float* input_grad,
                          int64_t p0, int64_t p1);

}  // namespace convoy
