// The dot-product GEMM against the naive reference, over shapes that hit every block size and
// the masked depth tail, on every ISA.
#include "core/kernels/gemm_dots.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/core/kernels/kernel_test_support.hpp"
#include "tests/core/kernels/reference_kernels.hpp"

namespace convoy {
namespace {

TEST(GemmDots, MatchesReferenceForEveryBlockEdgeAndDepthTail) {
  for (const auto& [m, n, k] : {std::tuple{1, 1, 1}, {9, 32, 676}, {25, 6, 3136}, {5, 7, 17}, {13, 11, 64}, {4, 6, 15},
                               {8, 13, 200}}) {
    SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k));
    const int64_t lda = k + 3, ldb = k + 5, ldc = n + 2;  // strides wider than the rows
    const auto a = testing::random_values(m * lda, 1), b = testing::random_values(n * ldb, 2);
    const auto c0 = testing::random_values(m * ldc, 3);
    for (float beta : {0.0f, 1.0f}) {
      const std::vector<double> product = reference::gemm(false, true, m, n, k, a.data(), lda, b.data(), ldb, 0.0f,
                                                          nullptr, 0);
      std::vector<double> want(m * n);
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) want[i * n + j] = product[i * n + j] + beta * c0[i * ldc + j];
      testing::for_each_isa([&](Isa) {
        std::vector<float> c = c0;
        if (beta == 0.0f)
          for (int64_t i = 0; i < m; ++i) c[i * ldc] = NAN;  // overwritten, never read
        gemm_dots(m, n, k, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
        std::vector<float> got(m * n);
        for (int64_t i = 0; i < m; ++i)
          for (int64_t j = 0; j < n; ++j) got[i * n + j] = c[i * ldc + j];
        testing::expect_close(got, want, "C");
        for (int64_t i = 0; i < m; ++i)  // the columns between n and ldc are untouched
          for (int64_t j = n; j < ldc; ++j) ASSERT_EQ(c[i * ldc + j], c0[i * ldc + j]);
      });
    }
  }
}

}  // namespace
}  // namespace convoy
