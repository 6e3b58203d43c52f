#include "core/kernels/tree_sum.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace convoy {
namespace {

// Columns summed through every round while they are in L1 (4 KiB of each partial).
constexpr int64_t kBlock = 1024;

}  // namespace

void tree_sum_in_place(float* partials, int64_t count, int64_t n, int64_t stride) {
  CONVOY_ASSERT(count >= 1 && n >= 0 && (count == 1 || stride >= n), "tree_sum of ", count, " partials of ", n,
                " floats at stride ", stride);
  // partials [count][stride], first n columns used; Note [Fixed summation tree]
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
