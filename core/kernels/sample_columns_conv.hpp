// Convolutions of small planes (lenet5's second layer, keras-cnn's third) with the batch as the GEMM's columns.
#pragma once

#include <cstdint>

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// Note [Samples as columns]
// When a plane is small, im2col copies each input value up to KH x KW times into short rows,
// and that copy cost a third of the pass or more. Transposed to [C][H][W][32 samples] instead,
// the input gives, for every output pixel, the B of a GEMM read in place: row (tap, c) is the
// 32 samples of channel c at the pixel the tap reaches (a row of zeros where it reaches the
// padding), listed in a row table for the microkernel: out [Cout'][pixel][32] = A [Cout, taps x
// Cin] . B, the whole depth in one call. The copies are one transpose in (x) and one out (y),
// each touching every value once. Backward-data is the same with A transposed, per input pixel.
// Every output value is one microkernel sum in a fixed order: the bits do not depend on the
// thread count. AVX-512, stride 1. Forward pools (Note [Fused pooling]) after the transpose out;
// backward-data of a pooled layer, or with fewer than 16 input channels (an 8-row tile mostly
// idle), stays with im2col.

// The forward entry, and backward-data's where there are 16 input channels or more and no pool.
extern const Conv2dForwardImpl kSampleColumnsForward;
extern const Conv2dBackwardDataImpl kSampleColumnsBackwardData;

}  // namespace convoy
