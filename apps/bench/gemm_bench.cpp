// GEMM microbenchmarks on the products the convolution and dense layers of keras-cnn, lenet5
// and the large reference shape run, one thread; GFLOP/s is reported as a counter.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/kernels/gemm.hpp"

namespace convoy {
namespace {

// args: m, n, k, trans_a, trans_b
void bm_gemm(benchmark::State& state) {
  const int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  const Trans ta = state.range(3) != 0 ? Trans::yes : Trans::no, tb = state.range(4) != 0 ? Trans::yes : Trans::no;
  std::vector<float> a(m * k, 0.5f), b(k * n, 0.25f), c(m * n);
  const int64_t lda = ta == Trans::no ? k : m, ldb = tb == Trans::no ? n : k;
  for (auto _ : state) {
    gemm(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, 0.0f, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * m * n * k * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// Forward NN: [Cout, patch] x [patch, cols]; backward-data TN; backward-weights NT.
BENCHMARK(bm_gemm)
    ->ArgNames({"m", "n", "k", "ta", "tb"})
    ->Args({64, 242, 288, 0, 0})     // keras-cnn conv 2 forward, 2 samples a chunk
    ->Args({288, 242, 64, 1, 0})     // its backward-data
    ->Args({288, 64, 242, 0, 1})     // its backward-weights
    ->Args({64, 72, 576, 0, 0})      // keras-cnn conv 3 forward, 8 samples a chunk
    ->Args({576, 72, 64, 1, 0})
    ->Args({576, 64, 72, 0, 1})
    ->Args({64, 3136, 576, 0, 0})    // the 56x56 reference shape, one sample
    ->Args({576, 3136, 64, 1, 0})
    ->Args({576, 64, 3136, 0, 1})
    ->Args({64, 64, 576, 0, 0})      // keras-cnn dense 64: forward, weight gradient, input gradient
    ->Args({576, 64, 64, 1, 0})
    ->Args({64, 576, 64, 0, 1});

}  // namespace
}  // namespace convoy

BENCHMARK_MAIN();
