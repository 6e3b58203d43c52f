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

// Note [Shifted rows]
// For a stride-1 convolution of a large image, far less than im2col will do. Over output rows
// [oy0, oy1) computed on a grid Wp = OW + KW - 1 wide (the last KW - 1 columns of each row are
// junk, dropped afterwards), the GEMM depth row (kh, kw, c) is the zero-padded input band of
// channel c (input rows from oy0 - pad_top) read from position kh * Wp + kw on: a view, no copy.
// - Forward: one padded copy of the band; per kh one GEMM of depth KW * Cin whose B rows are
//   views of it, through gemm_rows' row table.
// - Backward-data: per kh one GEMM adds its result straight into the gradient of the padded band
//   through gemm_c_rows' row table (the rows (kw, c) overlap, shifted by one float per kw),
//   then the band's gradient is cropped onto the input: no col2im at all.
// - Backward-weights: the band transposed once (transposed_band below).

// Whether the passes use shifted rows for this geometry (stride 1, rows of 32 or more, AVX-512).
bool use_shifted_rows(const Conv2dGeometry& g);
// The band itself, zero-padded: [Cin, padded_band_length] with row stride Wp, the shifted rows
// being views of it (forward reads them through gemm_rows' row table, copying nothing more).
int64_t padded_band_length(const Conv2dGeometry& g, int64_t band_rows);
void padded_band(const Conv2dGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* band);

// The weight gradient wants the band pixel-major instead: transposed [band * Wp + KW - 1, Cin],
// row j = every channel's value at band position j, so that the depth rows (kw, c) for one kh
// are, for pixel j, the Cin * KW consecutive floats from row j + kh * Wp: one row-major matrix
// with a row stride of Cin, read in place by the GEMM, and one transpose per band instead of
// one per kh.
void transposed_band(const Conv2dGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* scratch,
                     float* transposed);

// Floats of KW copies of a band of band_rows output rows: enough for the padded band and its
// row tables, and for transposed_band's scratch and result.
int64_t shifted_rows_floats(const Conv2dGeometry& g, int64_t band_rows);
// The adjoint of padded_band: image [Cin, H, W] gets the band's gradient [Cin, padded_band_length]
// at its pixels; accumulate adds to the band's input rows, otherwise they are overwritten and the
// image's other rows set to 0.
void padded_band_adjoint(const Conv2dGeometry& g, const float* band_grad, int64_t oy0, int64_t oy1, bool accumulate,
                         float* image);

}  // namespace convoy
