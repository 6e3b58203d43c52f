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
// For a stride-1 convolution of a large image, forward needs far less than im2col: over output
// rows [oy0, oy1) computed on a grid Wp = OW + KW - 1 wide (the last KW - 1 columns of each
// row are junk, dropped afterwards), the GEMM depth row (kh, kw, c) is the padded input band of
// channel c shifted by kh * Wp + kw. So only KW shifted copies of the band are made:
// rows [Cin*KW, (oy1 - oy0 + KH - 1) * Wp], row (kw, c) = the band of channel c (input rows
// from oy0 - pad_top, zero outside the image) shifted left by kw - pad_left; and the depth rows
// for one kh are those rows read from column kh * Wp on, with one row stride: KH GEMMs of depth
// KW * Cin. 2.4x less copying than im2col for 3x3 kernels on 56-pixel rows.
// Whether forward uses shifted rows for this geometry (stride 1, rows of 32 or more, AVX-512).
bool use_shifted_rows(const Conv2dGeometry& g);
// The weight gradient wants the band pixel-major instead: transposed [band * Wp + KW - 1, Cin],
// row j = every channel's value at band position j, so that the depth rows (kw, c) for one kh
// are, for pixel j, the Cin * KW consecutive floats from row j + kh * Wp: one row-major matrix
// with a row stride of Cin, read in place by the GEMM, and one transpose per band instead of
// one per kh.
void transposed_band(const Conv2dGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* scratch,
                     float* transposed);

// Floats of the shifted rows of a band of band_rows output rows (also enough for
// transposed_band's scratch and result).
int64_t shifted_rows_floats(const Conv2dGeometry& g, int64_t band_rows);
// image [Cin, H, W] -> rows [KW * Cin, (oy1 - oy0 + KH - 1) * Wp] as above.
void shifted_rows(const Conv2dGeometry& g, const float* image, int64_t oy0, int64_t oy1, float* rows);
// The adjoint: image [Cin, H, W] gets, for every pixel of the band's input rows, the sum over kw
// of the entries of rows that shifted_rows would have copied from it; accumulate adds to those
// rows, otherwise they are overwritten and the image's other rows set to 0.
void shifted_rows_adjoint(const Conv2dGeometry& g, const float* rows, int64_t oy0, int64_t oy1, bool accumulate,
                          float* image);

}  // namespace convoy
