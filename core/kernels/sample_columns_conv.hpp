// Convolutions of tiny planes (keras-cnn's 5x5 -> 3x3) with the batch as the GEMM's columns.
#pragma once

#include <cstdint>

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// Note [Samples as columns]
// When a plane is tiny, im2col copies each input value up to 9 times into short rows, and that
// copy cost a third of the pass. Transposed to [C][H][W][32 samples] instead, the input gives,
// for every output pixel and tap, a B of Cin rows of 32 samples at a constant stride, read in
// place by the microkernel: out [Cout'][pixel][32] = sum over the taps of A_tap [Cout, Cin] .
// B_tap. The copies are one transpose in (x) and one out (y), each touching every value once.
// Backward-data is the same with A_tap transposed, per input pixel over the taps that reach it.
// Every output value is summed by one microkernel call per tap in a fixed order: the bits do
// not depend on the thread count. AVX-512, stride 1, no fused pooling.
bool use_sample_columns(const Conv2dGeometry& g);

// Floats of scratch the two passes need (one region for all threads).
int64_t sample_columns_floats(const Conv2dGeometry& g);

// As conv2d_forward and conv2d_backward_data (output read only with fused_relu).
void sample_columns_forward(const Conv2dGeometry& g, const float* input, const float* weight, const float* bias,
                            float* output, float* scratch, int threads);
void sample_columns_backward_data(const Conv2dGeometry& g, const float* output, const float* output_grad,
                                  const float* weight, float* input_grad, float* scratch, int threads);

}  // namespace convoy
