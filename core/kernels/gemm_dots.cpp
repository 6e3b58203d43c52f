#include "core/kernels/gemm_dots.hpp"

#include <algorithm>

#include "core/kernels/cpu_features.hpp"
#include "core/kernels/simd.hpp"

namespace convoy {
namespace {

void store(float* c, float value, float beta) { *c = beta != 0.0f ? *c + value : value; }

// R rows of A by S rows of B: R*S zmm accumulators (4 x 6 = 24 of 32), R + S loads per step.
template <int R, int S>
__attribute__((target("avx512f"))) void block_avx512(int64_t k, const float* a, int64_t lda, const float* b,
                                                     int64_t ldb, float beta, float* c, int64_t ldc) {
  __m512 acc[R][S];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < S; ++j) acc[i][j] = _mm512_setzero_ps();
  // The last, partial vector is read with a mask (zeros beyond k).
  for (int64_t p = 0; p < k; p += 16) {
    const __mmask16 mask = k - p >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (k - p)) - 1);
    __m512 bv[S];
    for (int j = 0; j < S; ++j) bv[j] = _mm512_maskz_loadu_ps(mask, b + j * ldb + p);
    for (int i = 0; i < R; ++i) {
      const __m512 av = _mm512_maskz_loadu_ps(mask, a + i * lda + p);
      for (int j = 0; j < S; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < S; ++j) store(c + i * ldc + j, _mm512_reduce_add_ps(acc[i][j]), beta);
}

__attribute__((target("avx2,fma"))) float reduce_avx2(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

// 2 x 4 = 8 ymm accumulators of 16, so loads and accumulators fit without spills.
template <int R, int S>
__attribute__((target("avx2,fma"))) void block_avx2(int64_t k, const float* a, int64_t lda, const float* b,
                                                    int64_t ldb, float beta, float* c, int64_t ldc) {
  __m256 acc[R][S];
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < S; ++j) acc[i][j] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 bv[S];
    for (int j = 0; j < S; ++j) bv[j] = _mm256_loadu_ps(b + j * ldb + p);
    for (int i = 0; i < R; ++i) {
      const __m256 av = _mm256_loadu_ps(a + i * lda + p);
      for (int j = 0; j < S; ++j) acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < S; ++j) {
      float sum = reduce_avx2(acc[i][j]);
      for (int64_t q = p; q < k; ++q) sum += a[i * lda + q] * b[j * ldb + q];
      store(c + i * ldc + j, sum, beta);
    }
}

using Block = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float, float*, int64_t);

// Every block size up to R x S is instantiated, so the edges of C run the same code.
template <int R, int S>
struct Avx512Block {
  static constexpr Block value = block_avx512<R, S>;
};
template <int R, int S>
struct Avx2Block {
  static constexpr Block value = block_avx2<R, S>;
};

template <template <int, int> class Kind, int R, int S>
constexpr Block pick(int r, int s) {
  if constexpr (R == 0 || S == 0) {
    return nullptr;
  } else {
    if (r == R && s == S) return Kind<R, S>::value;
    if (s < S) return pick<Kind, R, S - 1>(r, s);
    return pick<Kind, R - 1, S>(r, s);
  }
}

template <template <int, int> class Kind, int R, int S>
void blocked(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
             float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; i += R) {
    const int r = static_cast<int>(std::min<int64_t>(R, m - i));
    for (int64_t j = 0; j < n; j += S) {
      const int s = static_cast<int>(std::min<int64_t>(S, n - j));
      pick<Kind, R, S>(r, s)(k, a + i * lda, lda, b + j * ldb, ldb, beta, c + i * ldc + j, ldc);
    }
  }
}

void dots_generic(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                  float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
      for (int64_t p = 0; p < k; ++p) sum += a[i * lda + p] * b[j * ldb + p];
      store(c + i * ldc + j, sum, beta);
    }
}

}  // namespace

void gemm_dots(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
               float* c, int64_t ldc) {
  switch (active_isa()) {
    case Isa::avx512: return blocked<Avx512Block, 4, 6>(m, n, k, a, lda, b, ldb, beta, c, ldc);
    case Isa::avx2: return blocked<Avx2Block, 2, 4>(m, n, k, a, lda, b, ldb, beta, c, ldc);
    case Isa::generic: break;
  }
  dots_generic(m, n, k, a, lda, b, ldb, beta, c, ldc);
}

bool prefer_gemm_dots(int64_t m, int64_t n, int64_t k) {
  // The packed kernel's tile is 12 x 32 (AVX-512): below 32 columns or 12 rows most of it is
  // padding, and the depth must be long enough to amortise the horizontal sums.
  return (n < 32 || m < 12) && k >= 64;
}

}  // namespace convoy
