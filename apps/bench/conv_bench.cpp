// Convolution microbenchmarks: forward, backward-data and backward-weights of the five
// reference shapes (bench_command.cpp), one thread; GFLOP/s (of the forward's flop count) as a counter.
//   build/bench/apps/bench/convoy_conv_bench --benchmark_filter=56
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {
namespace {

enum Pass { kForward, kBackwardData, kBackwardWeights };

// args: batch, cin, size, cout, kernel, pad, pass
void bm_conv(benchmark::State& state) {
  Conv2dGeometry g{.batch = state.range(0), .in_channels = state.range(1), .in_h = state.range(2),
                   .in_w = state.range(2), .out_channels = state.range(3), .kernel_h = state.range(4),
                   .kernel_w = state.range(4), .pad_top = state.range(5), .pad_left = state.range(5)};
  g.out_h = g.in_h + 2 * g.pad_top - g.kernel_h + 1;
  g.out_w = g.in_w + 2 * g.pad_left - g.kernel_w + 1;
  const auto pass = static_cast<Pass>(state.range(6));
  std::vector<float> x(g.batch * g.in_channels * g.in_h * g.in_w, 0.5f), w(g.out_channels * g.patch(), 0.1f),
      b(g.out_channels), y(g.batch * g.out_channels * g.out_pixels(), 0.25f), dx(x.size()), dw(w.size()),
      db(b.size()), scratch(conv2d_scratch_floats(g, 1));
  for (auto _ : state) {
    switch (pass) {
      case kForward: conv2d_forward(g, x.data(), w.data(), b.data(), y.data(), scratch.data(), 1); break;
      case kBackwardData: conv2d_backward_data(g, nullptr, y.data(), w.data(), dx.data(), scratch.data(), 1); break;
      case kBackwardWeights:
        conv2d_backward_weights(g, x.data(), nullptr, y.data(), dw.data(), db.data(), scratch.data(), 1);
        break;
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(g.forward_flops() * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "cin", "hw", "cout", "k", "pad", "pass"});
  for (int pass : {kForward, kBackwardData, kBackwardWeights}) {
    b->Args({64, 1, 28, 32, 3, 0, pass});
    b->Args({64, 32, 13, 64, 3, 0, pass});
    b->Args({64, 64, 5, 64, 3, 0, pass});
    b->Args({64, 1, 28, 6, 5, 2, pass});
    b->Args({32, 64, 56, 64, 3, 1, pass});
  }
}

BENCHMARK(bm_conv)->Apply(shapes)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace convoy

BENCHMARK_MAIN();
