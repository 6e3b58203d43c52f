// GEMM microkernels: one register tile of C from packed panels, per instruction set.
#pragma once

#include <cstdint>

#include "core/kernels/cpu_features.hpp"

namespace convoy {

// Note [GEMM microkernel]
// A microkernel computes the tile C[0:MR, 0:NR] (row stride ldc) from packed panels:
//   a_panel [k][MR]  (column p of op(A)'s MR rows, contiguous)
//   b [k][NR]        (row p of op(B)'s NR columns at b + p * ldb: a packed panel has ldb = NR,
//                     and a row-major B with full NR-wide tiles is read in place, unpacked)
// overwriting C when accumulate is false (C is never read then, so it may hold garbage) and
// adding to it otherwise. Accumulation runs over p in order, so a tile's bits do not depend on
// which thread computes it. Tiles at the matrix edge go through a full-size scratch tile.
using MicroKernel = void (*)(int64_t k, const float* a_panel, const float* b, int64_t ldb, float* c, int64_t ldc,
                             bool accumulate);

using MicroKernelRows = void (*)(int64_t k, const float* a_panel, const float* const* rows, int64_t col, float* c,
                                 int64_t ldc, bool accumulate);

using MicroKernelCRows = void (*)(int64_t k, const float* a_panel, const float* b, int64_t ldb, float* const* c_rows,
                                  int64_t col, bool accumulate);

using MicroKernelInPlaceA = void (*)(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                                     int64_t ldc, bool accumulate);

// Packs a transposed block for the microkernel: out[p * width + i] = src[i * ld + p] for
// i < rows, p < kc, and 0 for rows <= i < width (op(A) panels of a row-major A, op(B) panels of
// a transposed B). Vectorised in 4 x 8 transposes: the scalar walk cost as much as the multiply
// on convolution shapes.
using TransposePack = void (*)(const float* src, int64_t ld, int64_t rows, int64_t kc, int64_t width, float* out);

struct MicroKernelInfo {
  int64_t mr, nr;
  MicroKernel kernel;
  TransposePack pack_transposed;
  // A shorter tile (mr_short rows, same nr; 0 and null if none), so that row counts such as
  // 64 = 4 x 12 + 2 x 8 split into whole tiles (Note [GEMM row tiles]).
  int64_t mr_short = 0;
  MicroKernel kernel_short = nullptr;
  // The same tiles with B's row p at rows[p] + col (gemm_rows; AVX-512 only, else null).
  MicroKernelRows kernel_rows = nullptr, kernel_rows_short = nullptr;
  // The same tiles with C's row i at c_rows[i] + col (gemm_c_rows; AVX-512 only, else null).
  MicroKernelCRows kernel_c_rows = nullptr, kernel_c_rows_short = nullptr;
  // The same tiles with A read in place from a row-major matrix, A(i, p) at a[i * lda + p]
  // (each step broadcasts from memory, so A needs no pack), indexed [short][half]: mr or
  // mr_short rows, nr or nr / 2 columns (AVX-512 only, else null).
  MicroKernelInPlaceA kernel_in_place_a[2][2] = {};
};

MicroKernelInfo microkernel_for(Isa isa);

// Note [GEMM row tiles]
// m rows are cut into tiles of MR rows and, where the kernel has one, of the shorter MR' rows,
// so that common counts split exactly (64 = 4 x 12 + 2 x 8) instead of leaving a mostly empty
// MR tile. Rows no split covers go to MR-row tiles with zero padding (the edge).
struct RowTile {
  int64_t row, height;  // height: the kernel's row count (mr or mr_short)
};

struct RowSplit {
  int64_t m, mr, mr_short;
  int64_t full, shorts;  // whole MR tiles first, then whole MR' tiles, then the edge
  int64_t count() const;
  RowTile at(int64_t i) const;
  // The rows the tiles cover, the edge tile's padding included: the height of a buffer the
  // kernels write whole tiles into.
  int64_t padded() const;
};

RowSplit split_rows(int64_t m, const MicroKernelInfo& mk);

}  // namespace convoy
