// ReLU and 2x2 max pool fused into a convolution's output pass (Note [Fused pooling]).
#pragma once

#include <cstdint>

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// One channel of one sample. z holds the convolution's output rows [oy0, oy1) before the bias
// (row stride OW; oy0 even). Writes pooled rows [oy0/2, min(oy1/2, PH)) of output [PH, PW] =
// max(max of the window + bias, 0) and of winners [PH, PW] (the window's first maximum, or
// kNoWinner where the ReLU gave 0).
void relu_max_pool_rows(const Conv2dGeometry& g, const float* z, int64_t oy0, int64_t oy1, float bias, float* output,
                        uint8_t* winners);

// The adjoint for the same rows: grad [oy1 - oy0, OW] (overwritten) gets each pooled gradient
// of output_grad [PH, PW] at its winner's position and 0 elsewhere. Returns the sum of grad.
float unpool_rows(const Conv2dGeometry& g, const uint8_t* winners, const float* output_grad, int64_t oy0, int64_t oy1,
                  float* grad);

}  // namespace convoy
