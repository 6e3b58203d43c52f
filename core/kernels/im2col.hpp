// im2col and its adjoint: a convolution's input patches laid out as a matrix for the GEMM.
#pragma once

#include <cstdint>

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// Note [im2col layout]
// col [Cin*KH*KW, ld] for output rows [oy0, oy1) of one sample: row (c, kh, kw) holds at
// column (oy - oy0) * OW + ox the input value that kernel tap meets at output pixel (oy, ox),
// or 0 in the padding. ld is col's row stride: chunks of samples sit side by side (Note
// [Sample chunks]). image [Cin, H, W].
void im2col(const Conv2dGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* col, int64_t ld);

// The adjoint: image [Cin, H, W] = (accumulate: image +) for every pixel the sum of the entries
// of col (output rows [oy0, oy1)) that im2col would have copied from it.
void col2im(const Conv2dGeometry& g, const float* col, int64_t ld, int64_t oy0, int64_t oy1, bool accumulate,
            float* image);

}  // namespace convoy
