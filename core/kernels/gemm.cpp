#include "core/kernels/gemm.hpp"

#include <omp.h>

#include <algorithm>

namespace convoy {
namespace {

// Rows of C computed together while a block of B stays in cache.
constexpr int64_t kBlockK = 256;

void gemm_rows(Trans trans_a, Trans trans_b, int64_t row_begin, int64_t row_end, int64_t n, int64_t k,
               const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  for (int64_t i = row_begin; i < row_end; ++i) {
    float* ci = c + i * ldc;
    if (beta == 0.0f) std::fill(ci, ci + n, 0.0f);
  }
  if (trans_b == Trans::no) {
    // Broadcast one element of A against a row of B: the inner loop runs along contiguous n.
    for (int64_t p0 = 0; p0 < k; p0 += kBlockK) {
      const int64_t p1 = std::min(k, p0 + kBlockK);
      for (int64_t i = row_begin; i < row_end; ++i) {
        float* ci = c + i * ldc;
        for (int64_t p = p0; p < p1; ++p) {
          const float aip = trans_a == Trans::no ? a[i * lda + p] : a[p * lda + i];
          const float* bp = b + p * ldb;
#pragma omp simd
          for (int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
        }
      }
    }
  } else {
    // B is [n, k]: each element of C is a dot product of two contiguous rows.
    for (int64_t i = row_begin; i < row_end; ++i) {
      float* ci = c + i * ldc;
      for (int64_t j = 0; j < n; ++j) {
        const float* bj = b + j * ldb;
        float sum = 0.0f;
        if (trans_a == Trans::no) {
          const float* ai = a + i * lda;
#pragma omp simd reduction(+ : sum)
          for (int64_t p = 0; p < k; ++p) sum += ai[p] * bj[p];
        } else {
          for (int64_t p = 0; p < k; ++p) sum += a[p * lda + i] * bj[p];
        }
        ci[j] += sum;
      }
    }
  }
}

}  // namespace

void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm_rows(trans_a, trans_b, 0, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

void gemm_parallel(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads) {
  if (threads <= 1 || m < 2) {
    gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    const int64_t begin = m * t / nt;
    const int64_t end = m * (t + 1) / nt;
    gemm_rows(trans_a, trans_b, begin, end, n, k, a, lda, b, ldb, beta, c, ldc);
  }
}

}  // namespace convoy
