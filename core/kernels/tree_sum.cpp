#include "core/kernels/tree_sum.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/cpu_features.hpp"

namespace convoy {
namespace {

// Columns summed through every round while they are in L1 (4 KiB of each partial).
constexpr int64_t kBlock = 1024;

// partials [count][stride], first n columns used; Note [Fixed summation tree]. Each element's
// adds are the same on every ISA: the per-ISA copies below only widen the vectors (the
// portable build's are SSE2, and the weight gradients of AlexNet's dense layers spent 7% of
// a step here).
inline void tree_rounds(float* partials, int64_t count, int64_t n, int64_t stride) {
  for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
    const int64_t width = std::min(kBlock, n - j0);
    for (int64_t half = 1; half < count; half *= 2) {
      for (int64_t i = 0; i + half < count; i += 2 * half) {
        float* into = partials + i * stride + j0;
        const float* from = partials + (i + half) * stride + j0;
#pragma omp simd
        for (int64_t j = 0; j < width; ++j) into[j] += from[j];
      }
    }
  }
}

__attribute__((target("avx512f,prefer-vector-width=512"), flatten)) void tree_rounds_avx512(float* partials,
                                                                                            int64_t count, int64_t n,
                                                                                            int64_t stride) {
  tree_rounds(partials, count, n, stride);
}

__attribute__((target("avx2"), flatten)) void tree_rounds_avx2(float* partials, int64_t count, int64_t n,
                                                               int64_t stride) {
  tree_rounds(partials, count, n, stride);
}

__attribute__((flatten)) void tree_rounds_generic(float* partials, int64_t count, int64_t n, int64_t stride) {
  tree_rounds(partials, count, n, stride);
}

}  // namespace

void tree_sum_in_place(float* partials, int64_t count, int64_t n, int64_t stride) {
  CONVOY_ASSERT(count >= 1 && n >= 0 && (count == 1 || stride >= n), "tree_sum of ", count, " partials of ", n,
                " floats at stride ", stride);
  switch (active_isa()) {
    case Isa::avx512: return tree_rounds_avx512(partials, count, n, stride);
    case Isa::avx2: return tree_rounds_avx2(partials, count, n, stride);
    case Isa::generic: break;
  }
  tree_rounds_generic(partials, count, n, stride);
}

double tree_sum(double* partials, int64_t count) {
  CONVOY_ASSERT(count >= 1, "tree_sum of ", count, " doubles");
  for (int64_t half = 1; half < count; half *= 2)
    for (int64_t i = 0; i + half < count; i += 2 * half) partials[i] += partials[i + half];
  return partials[0];
}

void tree_sum(float* partials, int64_t count, int64_t n, int64_t stride, float* out) {
  tree_sum_in_place(partials, count, n, stride);
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) out[j] += partials[j];
}

}  // namespace convoy
