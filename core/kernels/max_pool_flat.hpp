// 3x3 max pooling of stride 1 that keeps the plane's size (GoogLeNet's inception branches), on
// planes narrower than a vector, with AVX-512.
#pragma once

#include <cstdint>

#include "core/kernels/pool2d_kernels.hpp"

namespace convoy {

// Note [Narrow planes pooled flat]
// GoogLeNet's branch pools run on planes of 8x8, 4x4 and 2x2 at 64x64 inputs, where a vector of
// 16 output columns holds half a row or less and the per-plane work dominates. With stride 1 and
// one ring of padding, output (y, x) and input (y, x) share their offset, so the planes are read
// as one flat array, 16 consecutive outputs a vector across rows and planes: window position
// (dy, dx) of the 16 is one load at offset dy * W + dx (masked only at the ends of the range),
// and the max takes the lanes whose position lies inside their own plane (a table per lane
// pattern, which repeats every H*W / gcd(H*W, 16) vectors). The positions are taken in row-major order through
// vmaxps(v, best), as in Note [3x3 max pooling in vectors], so the values are the scalar scan's bit for bit.
//
// Backward first writes each output's winner (0-8, the first position equal to the maximum) into
// a byte per output, then sums for each input the gradients of the outputs it won: for input i,
// output i - d for the positions d from the last (d = W + 1) to the first, so each input's
// gradients are added in output order, as the scalar code adds them, and each vector of input
// gradients is written once, with no read-modify-write across overlapping vectors. Windows with
// nothing above -inf (all -inf or NaN) take the scalar rule's winner.
bool max_pool_flat_serves(const Pool2dGeometry& g);

// Planes [p0, p1) of max_pool2d_forward and max_pool2d_backward.
void max_pool_flat_forward(const Pool2dGeometry& g, const float* input, float* output, int64_t p0, int64_t p1);
void max_pool_flat_backward(const Pool2dGeometry& g, const float* input, const float* output_grad, float* input_grad,
                            int64_t p0, int64_t p1);

}  // namespace convoy
