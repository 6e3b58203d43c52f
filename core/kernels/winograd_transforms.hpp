// The vector input and output transforms of Note [Winograd F(2x2, 3x3)], 16 tiles at a time.
#pragma once

#include <cstdint>

#include "core/kernels/winograd.hpp"

namespace convoy {

// Note [Winograd segments]
// The transforms work on segments: up to 16 of a block's tiles, one per vector lane, in runs
// of consecutive tiles of one tile row. A wide plane (8 tiles a row or more) has one run per
// segment: lane l's 4x4 input tile starts 2 l floats after lane 0's, so every other float of
// two 32-float loads gives a column of all 16. A narrow plane (7 tiles a row or fewer, its
// rows at most 16 floats) packs two tile rows, possibly of two samples, into one segment: each
// of the two input rows is one vector and a two-source permute picks every lane's columns.
// Without the packing keras-cnn's 13x13 layer (6 tiles a row) used 6 lanes of 16.
struct WinogradRun {
  int64_t sample, tile_row, tile_col;  // its first tile
  int64_t lane, lanes;                 // the lanes it occupies
};

struct WinogradSegment {
  int64_t column;  // the first lane's column among the block's 32
  int64_t length;  // lanes in use
  int64_t runs;    // 1, or 2 on a narrow plane
  WinogradRun run[2];
};

bool winograd_narrow(const WinogradShape& s);

// The segments of the block's tiles [t0, t1); returns their count (at most kWinogradBlock).
int64_t winograd_segments(const WinogradShape& s, int64_t t0, int64_t t1, WinogradSegment* segments);

// V [16][Cin][32] (positions `stride` floats apart) for the segment's columns, from
// src [N, Cin, in_h, in_w], 0 outside the plane and, with gate, where gate <= 0.
void winograd_input(const WinogradShape& s, const WinogradSegment& g, const float* src, const float* gate, float* v,
                    int64_t stride);

// Backward-weights' transform of the output gradient (Note [Winograd weight gradient]), wide
// planes pooled or not, narrow ones unpooled: Y [16][Cout][32] (positions `stride` floats apart) = A dy A^T of each
// lane's 2x2 block of grad [N, Cout, out_h, out_w], 0 past the output's edge and, with gate, where gate <= 0. With
// winners, grad is the pooled gradient [N, Cout, out_h / 2, out_w / 2] and each block gets its
// window's value at the winner's position (Note [Fused pooling]).
void winograd_gradient_input(const WinogradShape& s, const WinogradSegment& g, const float* grad, const float* gate,
                             const uint8_t* winners, float* y, int64_t stride);

// The segment's outputs from M [16][Cout'][32] (positions `stride` floats apart), plus the bias,
// then with relu max(0, .): into out [N, Cout, out_h, out_w]; or, with winners, each tile's
// 2x2 block max-pooled (Note [Fused pooling]) into out [N, Cout, out_h / 2, out_w / 2] and its
// winner codes into winners, same layout.
void winograd_output(const WinogradShape& s, const WinogradSegment& g, const float* m, int64_t stride,
                     const float* bias, bool relu, float* out, uint8_t* winners);

}  // namespace convoy
