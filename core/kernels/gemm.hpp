// GEMM: single-precision matrix multiply, the engine under convolution and dense layers.
#pragma once

#include <cstdint>

namespace convoy {

enum class Trans { no, yes };

// C[m, n] = beta * C + op(A)[m, k] * op(B)[k, n], all row-major.
//   A: [m, k] with row stride lda (or [k, m] when trans_a = yes)
//   B: [k, n] with row stride ldb (or [n, k] when trans_b = yes)
//   C: [m, n] with row stride ldc
// beta is 0 (overwrite; C may hold garbage, even NaN) or 1 (accumulate).
// Serial: callers parallelise around it, so no nested OpenMP regions arise.
void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

// The same product with C's rows split statically over `threads` OpenMP threads (one region).
void gemm_parallel(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads);

// C[m, n] = beta * C + A[m, k] * B[k, n] where B's row p is the n floats at rows[p] (any
// addresses: Note [Shifted rows] reads a convolution's input through it without copying).
// A row-major with row stride lda. Serial. Needs an ISA with row-table microkernels
// (gemm_rows_supported); the sums run in the same order as gemm's.
void gemm_rows(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* const* rows, float beta,
               float* c, int64_t ldc);
bool gemm_rows_supported();

// C += op(A)[m, k] * B[k, n] where C's row i is the n floats at c_rows[i]; rows may overlap in
// memory (each tile's rows are added one after another, so overlapping sums come out right:
// Note [Shifted rows]'s backward-data adds its KW shifted copies this way). B row-major with row
// stride ldb. Serial; needs gemm_rows_supported().
void gemm_c_rows(Trans trans_a, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                 int64_t ldb, float* const* c_rows);

}  // namespace convoy
