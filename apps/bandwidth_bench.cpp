#include "apps/bandwidth_bench.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "core/tensor.hpp"

namespace convoy {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// GB/s of `pass` over n floats per array, counting `arrays` streams of 4 n bytes each (STREAM's
// count: the write-allocate read of a written line is not counted). Enough passes that each
// repeat moves at least 1 GB, so small arrays are timed over many calls.
template <typename Pass>
double gigabytes_per_second(int64_t n, int arrays, int repeats, Pass&& pass) {
  const double bytes = 4.0 * static_cast<double>(n) * arrays;
  const int64_t passes = std::max<int64_t>(1, static_cast<int64_t>(1e9 / bytes));
  pass();  // first touch and warm-up
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t p = 0; p < passes; ++p) pass();
    rates.push_back(bytes * passes / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                    1e9);
  }
  return median(rates);
}

void bench_size(int64_t n, int threads, int repeats) {
  auto a = allocate_aligned(n), b = allocate_aligned(n), c = allocate_aligned(n);
  float *pa = a.get(), *pb = b.get(), *pc = c.get();
  // Each thread first touches the part it streams later (NUMA placement).
#pragma omp parallel for num_threads(threads) schedule(static)
  for (int64_t i = 0; i < n; ++i) pa[i] = 1.0f, pb[i] = 2.0f, pc[i] = 0.5f;
  const double copy = gigabytes_per_second(n, 2, repeats, [&] {
#pragma omp parallel for simd num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; ++i) pb[i] = pa[i];
  });
  const double triad = gigabytes_per_second(n, 3, repeats, [&] {
#pragma omp parallel for simd num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n; ++i) pa[i] = pb[i] + 0.5f * pc[i];
  });
  std::printf("  %8.0f KiB per array  %d thread%s  copy %7.1f GB/s  triad %7.1f GB/s\n", 4.0 * n / 1024, threads,
              threads == 1 ? " " : "s", copy, triad);
}

}  // namespace

void bench_bandwidth(int threads, int repeats) {
  std::printf("memory bandwidth (STREAM copy and triad, medians of %d):\n", repeats);
  for (const int64_t n : {int64_t{1} << 20, int64_t{1} << 26}) {
    bench_size(n, 1, repeats);
    if (threads > 1) bench_size(n, threads, repeats);
  }
}

}  // namespace convoy
