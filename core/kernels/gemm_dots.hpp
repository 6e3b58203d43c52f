// Dot-product GEMM: C = A * B^T for a small C over a long depth (convolution weight gradients).
#pragma once

#include <cstdint>

namespace convoy {

// Note [Dot-product GEMM]
// A first layer's weight gradient is a product with a tiny result and a huge depth: dW^T
// [patch = 9, Cout = 32] over 64 x 676 output pixels. The packed GEMM would copy (transpose)
// both operands in full to fill a 12 x 32 tile that is mostly padding, and the copies cost
// more than the arithmetic. Here each element of C is a dot product of two contiguous rows,
// read in place: registers hold a 4 x 6 block of C's partial sums, one vector per element,
// and the rows stream past once per block.
//
// C [m, n] (row stride ldc) = beta * C + A [m, k] (row stride lda) * B [n, k]^T (row stride ldb).
// beta is 0 (overwrite; C may hold garbage) or 1. Serial. The bits depend on the ISA and the
// shape only: each element sums its vector lanes in p order, then the lanes in a fixed order.
void gemm_dots(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
               float* c, int64_t ldc);

// Whether gemm_dots beats the packed GEMM for C [m, n] over depth k: C is too small to fill
// the packed kernel's tiles and the depth is long.
bool prefer_gemm_dots(int64_t m, int64_t n, int64_t k);

}  // namespace convoy
