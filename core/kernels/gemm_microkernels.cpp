#include "core/kernels/gemm_microkernels.hpp"

#include <algorithm>

#include "core/kernels/simd.hpp"

namespace convoy {
namespace {

// AVX-512: 12 rows x 32 columns = 24 zmm accumulators, 2 for B, 1 broadcast of A. The 8-row
// variant lets a 64-row C split into 12+12+12+12+8+8 tiles instead of wasting a 12-row tile
// on the last 4 rows.
constexpr int64_t kMr512 = 12, kMrShort512 = 8, kNr512 = 32;

// The tile loop: R rows of C, W vectors of 16 columns, A's element (i, p) at a_of(p, i), B's
// row p at row_of(p) and C's row i at c_row(i): packed panels, constant strides, or tables of
// row addresses. C's rows are loaded and stored one after another, so rows that overlap in
// memory (Note [Shifted rows]) accumulate correctly.
template <int R, int W, typename AOf, typename RowOf, typename CRowOf>
__attribute__((target("avx512f,fma"), always_inline)) inline void tile_avx512(int64_t k, AOf a_of, RowOf row_of,
                                                                              CRowOf c_row, bool accumulate) {
  __m512 acc[R][W];
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i)
    for (int w = 0; w < W; ++w) acc[i][w] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const float* bp = row_of(p);
    __m512 b[W];
    for (int w = 0; w < W; ++w) b[w] = _mm512_loadu_ps(bp + 16 * w);
#pragma GCC unroll 12
    for (int i = 0; i < R; ++i) {
      const __m512 ai = _mm512_set1_ps(a_of(p, i));
      for (int w = 0; w < W; ++w) acc[i][w] = _mm512_fmadd_ps(ai, b[w], acc[i][w]);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < R; ++i) {
    float* ci = c_row(i);
    for (int w = 0; w < W; ++w) {
      if (accumulate) acc[i][w] = _mm512_add_ps(acc[i][w], _mm512_loadu_ps(ci + 16 * w));
      _mm512_storeu_ps(ci + 16 * w, acc[i][w]);
    }
  }
}

template <int R>
__attribute__((target("avx512f,fma"))) void kernel_avx512(int64_t k, const float* a, const float* b, int64_t ldb,
                                                          float* c, int64_t ldc, bool accumulate) {
  tile_avx512<R, 2>(
      k, [=](int64_t p, int i) { return a[p * R + i]; }, [=](int64_t p) { return b + p * ldb; },
      [=](int i) { return c + i * ldc; }, accumulate);
}

template <int R>
__attribute__((target("avx512f,fma"))) void kernel_rows_avx512(int64_t k, const float* a, const float* const* rows,
                                                               int64_t col, float* c, int64_t ldc, bool accumulate) {
  tile_avx512<R, 2>(
      k, [=](int64_t p, int i) { return a[p * R + i]; }, [=](int64_t p) { return rows[p] + col; },
      [=](int i) { return c + i * ldc; }, accumulate);
}

template <int R>
__attribute__((target("avx512f,fma"))) void kernel_c_rows_avx512(int64_t k, const float* a, const float* b,
                                                                 int64_t ldb, float* const* c_rows, int64_t col,
                                                                 bool accumulate) {
  tile_avx512<R, 2>(
      k, [=](int64_t p, int i) { return a[p * R + i]; }, [=](int64_t p) { return b + p * ldb; },
      [=](int i) { return c_rows[i] + col; }, accumulate);
}

template <int R, int W>
__attribute__((target("avx512f,fma"))) void kernel_in_place_a_avx512(int64_t k, const float* a, int64_t lda,
                                                                     const float* b, int64_t ldb, float* c, int64_t ldc,
                                                                     bool accumulate) {
  tile_avx512<R, W>(
      k, [=](int64_t p, int i) { return a[i * lda + p]; }, [=](int64_t p) { return b + p * ldb; },
      [=](int i) { return c + i * ldc; }, accumulate);
}

// AVX2: 6 rows x 16 columns = 12 ymm accumulators, 2 for B, 1 broadcast; 4-row variant as above.
constexpr int64_t kMr256 = 6, kMrShort256 = 4, kNr256 = 16;

template <int R>
__attribute__((target("avx2,fma"))) void kernel_avx2(int64_t k, const float* a, const float* b, int64_t ldb, float* c,
                                                     int64_t ldc, bool accumulate) {
  __m256 acc0[R], acc1[R];
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();
  for (int64_t p = 0; p < k; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b + p * ldb);
    const __m256 b1 = _mm256_loadu_ps(b + p * ldb + 8);
    const float* ap = a + p * R;
#pragma GCC unroll 6
    for (int i = 0; i < R; ++i) {
      const __m256 ai = _mm256_broadcast_ss(ap + i);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < R; ++i) {
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

void pack_transposed_generic(const float* src, int64_t ld, int64_t rows, int64_t kc, int64_t width, float* out) {
  for (int64_t p = 0; p < kc; ++p) {
    float* dst = out + p * width;
    for (int64_t i = 0; i < rows; ++i) dst[i] = src[i * ld + p];
    for (int64_t i = rows; i < width; ++i) dst[i] = 0.0f;
  }
}

// AVX2 (also run on AVX-512 machines): 4 rows x 8 depth steps per transpose.
__attribute__((target("avx2"))) void pack_transposed_avx2(const float* src, int64_t ld, int64_t rows, int64_t kc,
                                                          int64_t width, float* out) {
  int64_t i0 = 0;
  for (; i0 + 4 <= rows; i0 += 4) {
    const float* r = src + i0 * ld;
    int64_t p = 0;
    for (; p + 8 <= kc; p += 8) {
      const __m256 a0 = _mm256_loadu_ps(r + p), a1 = _mm256_loadu_ps(r + ld + p);
      const __m256 a2 = _mm256_loadu_ps(r + 2 * ld + p), a3 = _mm256_loadu_ps(r + 3 * ld + p);
      const __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1);
      const __m256 t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3);
      // u_q holds depth steps p+q (low half) and p+q+4 (high half) of the four rows.
      const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
      const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
      float* o = out + p * width + i0;
      _mm_storeu_ps(o, _mm256_castps256_ps128(u0));
      _mm_storeu_ps(o + width, _mm256_castps256_ps128(u1));
      _mm_storeu_ps(o + 2 * width, _mm256_castps256_ps128(u2));
      _mm_storeu_ps(o + 3 * width, _mm256_castps256_ps128(u3));
      _mm_storeu_ps(o + 4 * width, _mm256_extractf128_ps(u0, 1));
      _mm_storeu_ps(o + 5 * width, _mm256_extractf128_ps(u1, 1));
      _mm_storeu_ps(o + 6 * width, _mm256_extractf128_ps(u2, 1));
      _mm_storeu_ps(o + 7 * width, _mm256_extractf128_ps(u3, 1));
    }
    for (; p < kc; ++p)
      for (int64_t i = 0; i < 4; ++i) out[p * width + i0 + i] = r[i * ld + p];
  }
  for (int64_t p = 0; p < kc; ++p) {
    float* dst = out + p * width;
    for (int64_t i = i0; i < rows; ++i) dst[i] = src[i * ld + p];
    for (int64_t i = rows; i < width; ++i) dst[i] = 0.0f;
  }
}

// AVX-512: 16 x 16 transposes (four shuffle stages). Rows past `rows` are zero registers, so
// the panel's zero fill is free, and each depth step's row is one (masked) store: against the
// AVX2 pack's two 16-byte stores per 8 floats this halves the stores, the bottleneck.
__attribute__((target("avx512f"))) void pack_transposed_avx512(const float* src, int64_t ld, int64_t rows, int64_t kc,
                                                               int64_t width, float* out) {
  for (int64_t i0 = 0; i0 < width; i0 += 16) {
    const int64_t live = std::clamp<int64_t>(rows - i0, 0, 16);
    const __mmask16 lanes = static_cast<__mmask16>(width - i0 >= 16 ? 0xFFFF : (1u << (width - i0)) - 1);
    for (int64_t p = 0; p < kc; p += 16) {
      const int64_t depth = std::min<int64_t>(16, kc - p);
      const __mmask16 steps = static_cast<__mmask16>(depth == 16 ? 0xFFFF : (1u << depth) - 1);
      __m512 r[16], t[16];
      for (int i = 0; i < 16; ++i)
        r[i] = i < live ? _mm512_maskz_loadu_ps(steps, src + (i0 + i) * ld + p) : _mm512_setzero_ps();
      for (int i = 0; i < 8; ++i) {  // pairs of rows, 32-bit interleave
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
      }
      for (int i = 0; i < 4; ++i) {  // quads of rows, 64-bit pairs
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
      }
      for (int i = 0; i < 2; ++i)  // 128-bit lanes of eight rows
        for (int j = 0; j < 4; ++j) {
          t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + 4 + j], 0x88);
          t[8 * i + 4 + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + 4 + j], 0xDD);
        }
      for (int j = 0; j < 8; ++j) {  // and of all sixteen: r[q] is depth step p + q
        r[j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88);
        r[8 + j] = _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD);
      }
      for (int64_t q = 0; q < depth; ++q) _mm512_mask_storeu_ps(out + (p + q) * width + i0, lanes, r[q]);
    }
  }
}

}  // namespace

MicroKernelInfo microkernel_for(Isa isa) {
  switch (isa) {
    case Isa::avx512:
      return {kMr512,
              kNr512,
              kernel_avx512<kMr512>,
              pack_transposed_avx512,
              kMrShort512,
              kernel_avx512<kMrShort512>,
              kernel_rows_avx512<kMr512>,
              kernel_rows_avx512<kMrShort512>,
              kernel_c_rows_avx512<kMr512>,
              kernel_c_rows_avx512<kMrShort512>,
              {{kernel_in_place_a_avx512<kMr512, 2>, kernel_in_place_a_avx512<kMr512, 1>},
               {kernel_in_place_a_avx512<kMrShort512, 2>, kernel_in_place_a_avx512<kMrShort512, 1>}}};
    case Isa::avx2:
      return {kMr256, kNr256, kernel_avx2<kMr256>, pack_transposed_avx2, kMrShort256, kernel_avx2<kMrShort256>};
    case Isa::generic: break;
  }
  return {kMrGeneric, kNrGeneric, kernel_generic, pack_transposed_generic, 0, nullptr};
}

RowSplit split_rows(int64_t m, const MicroKernelInfo& mk) {
  RowSplit s{.m = m, .mr = mk.mr, .mr_short = mk.mr_short, .full = m / mk.mr, .shorts = 0};
  if (mk.mr_short > 0)
    for (int64_t f = m / mk.mr; f >= 0; --f)
      if ((m - f * mk.mr) % mk.mr_short == 0) {
        s.full = f;
        s.shorts = (m - f * mk.mr) / mk.mr_short;
        break;
      }
  return s;
}

int64_t RowSplit::padded() const {
  const RowTile last = at(count() - 1);
  return last.row + last.height;
}

int64_t RowSplit::count() const {
  const int64_t covered = full * mr + shorts * mr_short;
  return full + shorts + (m - covered + mr - 1) / mr;
}

RowTile RowSplit::at(int64_t i) const {
  if (i < full) return {i * mr, mr};
  if (i < full + shorts) return {full * mr + (i - full) * mr_short, mr_short};
  return {full * mr + shorts * mr_short + (i - full - shorts) * mr, mr};
}

}  // namespace convoy
