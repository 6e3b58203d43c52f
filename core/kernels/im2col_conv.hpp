// The convolution every geometry can take: im2col of a chunk of columns, then one GEMM.
#pragma once

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// Note [im2col layout] and Note [Sample chunks]: each chunk's patches copied into col [patch,
// columns], then forward z = weight . col (the epilogue writes the output), backward-data
// col = weight^T . output_grad (col2im adds it into the input gradient), backward-weights
// partial += col . output_grad^T per weight-gradient group. The last entry of every table.
extern const Conv2dForwardImpl kIm2colForward;
extern const Conv2dBackwardDataImpl kIm2colBackwardData;
extern const Conv2dBackwardWeightsImpl kIm2colBackwardWeights;

}  // namespace convoy
