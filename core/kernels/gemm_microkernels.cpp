#include "core/kernels/gemm_microkernels.hpp"

#include <immintrin.h>

namespace convoy {
namespace {

// AVX-512: 12 rows x 32 columns = 24 zmm accumulators, 2 for B, 1 broadcast of A.
constexpr int64_t kMr512 = 12, kNr512 = 32;

__attribute__((target("avx512f,fma"))) void kernel_avx512(int64_t k, const float* a, const float* b, int64_t ldb,
                                                          float* c, int64_t ldc, bool accumulate) {
  __m512 acc0[kMr512], acc1[kMr512];
#pragma GCC unroll 12
  for (int i = 0; i < kMr512; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b + p * ldb);
    const __m512 b1 = _mm512_loadu_ps(b + p * ldb + 16);
    const float* ap = a + p * kMr512;
#pragma GCC unroll 12
    for (int i = 0; i < kMr512; ++i) {
      const __m512 ai = _mm512_set1_ps(ap[i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < kMr512; ++i) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc0[i] = _mm512_add_ps(acc0[i], _mm512_loadu_ps(ci));
      acc1[i] = _mm512_add_ps(acc1[i], _mm512_loadu_ps(ci + 16));
    }
    _mm512_storeu_ps(ci, acc0[i]);
    _mm512_storeu_ps(ci + 16, acc1[i]);
  }
}

// AVX2: 6 rows x 16 columns = 12 ymm accumulators, 2 for B, 1 broadcast.
constexpr int64_t kMr256 = 6, kNr256 = 16;

__attribute__((target("avx2,fma"))) void kernel_avx2(int64_t k, const float* a, const float* b, int64_t ldb, float* c,
                                                     int64_t ldc, bool accumulate) {
  __m256 acc0[kMr256], acc1[kMr256];
#pragma GCC unroll 6
  for (int i = 0; i < kMr256; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b + p * ldb);
    const __m256 b1 = _mm256_loadu_ps(b + p * ldb + 8);
    const float* ap = a + p * kMr256;
#pragma GCC unroll 6
    for (int i = 0; i < kMr256; ++i) {
      const __m256 ai = _mm256_broadcast_ss(ap + i);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < kMr256; ++i) {
    float* ci = c + i * ldc;
    if (accumulate) {
      acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(ci));
      acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(ci + 8));
    }
    _mm256_storeu_ps(ci, acc0[i]);
    _mm256_storeu_ps(ci + 8, acc1[i]);
  }
}

// Portable: plain loops the compiler vectorises for the baseline x86-64 (SSE2).
constexpr int64_t kMrGeneric = 4, kNrGeneric = 16;

void kernel_generic(int64_t k, const float* a, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  float acc[kMrGeneric][kNrGeneric] = {};
  for (int64_t p = 0; p < k; ++p)
    for (int i = 0; i < kMrGeneric; ++i) {
      const float ai = a[p * kMrGeneric + i];
      for (int j = 0; j < kNrGeneric; ++j) acc[i][j] += ai * b[p * ldb + j];
    }
  for (int i = 0; i < kMrGeneric; ++i)
    for (int j = 0; j < kNrGeneric; ++j) c[i * ldc + j] = accumulate ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}

}  // namespace

MicroKernelInfo microkernel_for(Isa isa) {
  switch (isa) {
    case Isa::avx512: return {kMr512, kNr512, kernel_avx512};
    case Isa::avx2: return {kMr256, kNr256, kernel_avx2};
    case Isa::generic: break;
  }
  return {kMrGeneric, kNrGeneric, kernel_generic};
}

}  // namespace convoy
