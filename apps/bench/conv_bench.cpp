// Convolution microbenchmarks: forward, backward-data and backward-weights of the reference
// shapes (core/kernels/reference_shapes.hpp), one thread; GFLOP/s (of the forward's flop count) as a counter.
//   build/bench/apps/bench/convoy_conv_bench --benchmark_filter=56
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "core/kernels/conv2d_kernels.hpp"
#include "core/kernels/reference_shapes.hpp"

namespace convoy {
namespace {

enum Pass { kForward, kBackwardData, kBackwardWeights };

// args: batch, cin, h, w, cout, kernel, pad, stride, pass
void bm_conv(benchmark::State& state) {
  const ReferenceConvShape shape{state.range(0), state.range(1), state.range(2), state.range(3),
                                 state.range(4), state.range(5), state.range(6), state.range(7)};
  const Conv2dGeometry g = shape.geometry();
  const auto pass = static_cast<Pass>(state.range(8));
  std::vector<float> x(g.batch * g.in_channels * g.in_h * g.in_w, 0.5f), w(g.out_channels * g.patch(), 0.1f),
      b(g.out_channels), y(g.batch * g.out_channels * g.out_pixels(), 0.25f), dx(x.size()), dw(w.size()),
      db(b.size()), scratch(conv2d_scratch_floats(g, 1));
  for (auto _ : state) {
    switch (pass) {
      case kForward: conv2d_forward(g, x.data(), w.data(), b.data(), y.data(), scratch, 1); break;
      case kBackwardData: conv2d_backward_data(g, nullptr, y.data(), w.data(), dx.data(), scratch, 1); break;
      case kBackwardWeights:
        conv2d_backward_weights(g, x.data(), nullptr, y.data(), dw.data(), db.data(), scratch, 1);
        break;
    }
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(g.forward_flops() * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

void shapes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "cin", "h", "w", "cout", "k", "pad", "stride", "pass"});
  for (int pass : {kForward, kBackwardData, kBackwardWeights})
    for (const ReferenceConvShape& s : kReferenceConvShapes)
      b->Args({s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, s.kernel, s.pad, s.stride, pass});
}

BENCHMARK(bm_conv)->Apply(shapes)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace convoy

BENCHMARK_MAIN();
