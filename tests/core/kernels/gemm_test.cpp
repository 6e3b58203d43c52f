#include "core/kernels/gemm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "core/kernels/cpu_features.hpp"
#include "core/rng.hpp"
#include "tests/core/kernels/kernel_test_support.hpp"

namespace convoy {
namespace {

using testing::for_each_isa;

std::vector<float> random_matrix(int64_t count, uint64_t seed) {
  std::vector<float> v(count);
  for (int64_t i = 0; i < count; ++i) v[i] = random_uniform(seed, RandomPurpose::init, 0, i) * 2.0f - 1.0f;
  return v;
}

// (m, n, k, trans_a, trans_b, beta)
using GemmCase = std::tuple<int, int, int, bool, bool, float>;
class GemmGrid : public ::testing::TestWithParam<GemmCase> {};

TEST_P(GemmGrid, MatchesNaiveReferenceOnEveryIsaAndThreadCount) {
  const auto [m, n, k, ta, tb, beta] = GetParam();
  const int64_t pad = 3;  // leading dimensions wider than the matrices
  const int64_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
  const std::vector<float> a = random_matrix((ta ? k : m) * lda, 1), b = random_matrix((tb ? n : k) * ldb, 2);
  const std::vector<float> c0 = random_matrix(m * ldc, 3);
  std::vector<double> expected(m * ldc);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < ldc; ++j) {
      if (j >= n) {
        expected[i * ldc + j] = c0[i * ldc + j];  // outside C: untouched
        continue;
      }
      double sum = beta * c0[i * ldc + j];
      for (int64_t p = 0; p < k; ++p)
        sum += static_cast<double>(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      expected[i * ldc + j] = sum;
    }
  for_each_isa([&](Isa) {
    std::vector<float> one = c0, two = c0;
    if (beta == 0.0f) std::fill(one.begin(), one.end(), NAN), std::fill(two.begin(), two.end(), NAN);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = n; j < ldc; ++j) one[i * ldc + j] = two[i * ldc + j] = c0[i * ldc + j];
    const Trans tra = ta ? Trans::yes : Trans::no, trb = tb ? Trans::yes : Trans::no;
    gemm_parallel(tra, trb, m, n, k, a.data(), lda, b.data(), ldb, beta, one.data(), ldc, 1);
    gemm_parallel(tra, trb, m, n, k, a.data(), lda, b.data(), ldb, beta, two.data(), ldc, 2);
    for (int64_t e = 0; e < m * ldc; ++e)
      ASSERT_NEAR(one[e], expected[e], 1e-4 * (1 + std::sqrt(static_cast<double>(k)))) << "element " << e;
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float))) << "1 vs 2 threads";
  });
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GemmGrid,
    // m = 16, 20 and 64 split into whole tiles of both heights (Note [GEMM row tiles]).
    ::testing::Combine(::testing::Values(1, 13, 16, 20, 64), ::testing::Values(1, 17, 121), ::testing::Values(1, 9, 300),
                       ::testing::Bool(), ::testing::Bool(), ::testing::Values(0.0f, 1.0f)));

TEST(Gemm, LargeProductSplitsOverThreadsBitwiseIdentically) {
  const int64_t m = 200, n = 1100, k = 600;  // more than one block in every dimension
  const std::vector<float> a = random_matrix(m * k, 4), b = random_matrix(k * n, 5);
  for_each_isa([&](Isa) {
    std::vector<float> one(m * n), two(m * n);
    gemm_parallel(Trans::no, Trans::no, m, n, k, a.data(), k, b.data(), n, 0.0f, one.data(), n, 1);
    gemm_parallel(Trans::no, Trans::no, m, n, k, a.data(), k, b.data(), n, 0.0f, two.data(), n, 2);
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * sizeof(float)));
    for (int64_t i : {int64_t{0}, m / 2, m - 1})
      for (int64_t j : {int64_t{0}, n / 3, n - 1}) {
        double sum = 0;
        for (int64_t p = 0; p < k; ++p) sum += static_cast<double>(a[i * k + p]) * b[p * n + j];
        ASSERT_NEAR(one[i * n + j], sum, 1e-3);
      }
  });
}

}  // namespace
}  // namespace convoy

namespace convoy {
namespace {

// gemm_rows reads B through a row table: rows scattered through memory (here in reverse
// order, with gaps) give the bits of gemm on the same B stored contiguously.
TEST(GemmRows, RowTableGivesTheBitsOfTheContiguousProduct) {
  int checked = 0;
  for_each_isa([&](Isa) {
    if (!gemm_rows_supported()) return;
    ++checked;
    for (const auto& [m, n, k] : {std::tuple{1, 1, 1}, {13, 17, 9}, {64, 100, 300}, {20, 64, 192}, {64, 522, 192}}) {
      SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k));
      const std::vector<float> a = random_matrix(m * k, 1), b = random_matrix(k * n, 2), c0 = random_matrix(m * n, 3);
      const int64_t gap = n + 7;
      std::vector<float> scattered(k * gap);
      std::vector<const float*> rows(k);
      for (int64_t p = 0; p < k; ++p) {
        float* row = scattered.data() + (k - 1 - p) * gap;
        std::memcpy(row, b.data() + p * n, n * sizeof(float));
        rows[p] = row;
      }
      for (float beta : {0.0f, 1.0f}) {
        std::vector<float> want = c0, got = c0;
        gemm(Trans::no, Trans::no, m, n, k, a.data(), k, b.data(), n, beta, want.data(), n);
        gemm_rows(m, n, k, a.data(), k, rows.data(), beta, got.data(), n);
        EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float))) << "beta " << beta;
      }
    }
  });
  if (checked == 0) GTEST_SKIP() << "no instruction set on this CPU has the row-table microkernels";
}

}  // namespace
}  // namespace convoy

namespace convoy {
namespace {

// gemm_c_rows adds into rows given by a table; rows that overlap in memory (each starting one
// float after the previous, as the shifted rows of a convolution's backward-data do) must get
// every product added.
TEST(GemmCRows, OverlappingRowsReceiveEverySum) {
  int checked = 0;
  for_each_isa([&](Isa) {
    if (!gemm_rows_supported()) return;
    ++checked;
    for (const auto& [m, n, k, ta] : {std::tuple{5, 7, 3, false}, {24, 64, 64, true}, {40, 100, 17, false}}) {
      SCOPED_TRACE(std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k));
      const std::vector<float> a = random_matrix(m * k, 4), b = random_matrix(k * n, 5);
      const int64_t lda = ta ? m : k;
      // Row i starts at i / 3 * (n + 4) + i % 3: groups of three rows overlapping by one float.
      std::vector<float> c((m / 3 + 1) * (n + 4) + 8, 0.5f), want = c;
      std::vector<float*> rows(m);
      for (int64_t i = 0; i < m; ++i) rows[i] = c.data() + i / 3 * (n + 4) + i % 3;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double sum = 0.0;
          for (int64_t p = 0; p < k; ++p) sum += double(ta ? a[p * lda + i] : a[i * lda + p]) * b[p * n + j];
          want[i / 3 * (n + 4) + i % 3 + j] += static_cast<float>(sum);
        }
      gemm_c_rows(ta ? Trans::yes : Trans::no, m, n, k, a.data(), lda, b.data(), n, rows.data());
      for (size_t e = 0; e < c.size(); ++e) ASSERT_NEAR(c[e], want[e], 1e-4 * (1.0 + std::abs(want[e]))) << e;
    }
  });
  if (checked == 0) GTEST_SKIP() << "no instruction set on this CPU has the row-table microkernels";
}

}  // namespace
}  // namespace convoy
