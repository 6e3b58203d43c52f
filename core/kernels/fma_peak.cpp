#include "core/kernels/fma_peak.hpp"

#include <chrono>

#include "core/kernels/cpu_features.hpp"
#include "core/kernels/simd.hpp"

namespace convoy {
namespace {

using Clock = std::chrono::steady_clock;

// 16 independent accumulators: more than FMA latency x FMA ports (4 x 2), so the loop is bound by
// throughput alone. Returns FLOPs done; the sum is written out so no FMA can be dropped.
constexpr int kChains = 16;
constexpr long kRounds = 1 << 20;

__attribute__((target("avx512f,fma"))) double run_avx512(volatile float* sink) {
  __m512 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm512_set1_ps(static_cast<float>(j) * 1e-3f);
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-6f);
  for (long i = 0; i < kRounds; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], m, a);
  __m512 sum = acc[0];
  for (int j = 1; j < kChains; ++j) sum = _mm512_add_ps(sum, acc[j]);
  *sink = _mm512_reduce_add_ps(sum);
  return 2.0 * 16 * kChains * kRounds;
}

__attribute__((target("avx2,fma"))) double run_avx2(volatile float* sink) {
  __m256 acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = _mm256_set1_ps(static_cast<float>(j) * 1e-3f);
  const __m256 m = _mm256_set1_ps(0.999999f), a = _mm256_set1_ps(1e-6f);
  for (long i = 0; i < kRounds; ++i)
#pragma GCC unroll 16
    for (int j = 0; j < kChains; ++j) acc[j] = _mm256_fmadd_ps(acc[j], m, a);
  float lanes[8];
  __m256 sum = acc[0];
  for (int j = 1; j < kChains; ++j) sum = _mm256_add_ps(sum, acc[j]);
  _mm256_storeu_ps(lanes, sum);
  *sink = lanes[0];
  return 2.0 * 8 * kChains * kRounds;
}

double run_generic(volatile float* sink) {
  float acc[kChains];
  for (int j = 0; j < kChains; ++j) acc[j] = static_cast<float>(j) * 1e-3f;
  for (long i = 0; i < kRounds; ++i)
    for (int j = 0; j < kChains; ++j) acc[j] = acc[j] * 0.999999f + 1e-6f;
  float sum = 0.0f;
  for (float v : acc) sum += v;
  *sink = sum;
  return 2.0 * kChains * kRounds;
}

}  // namespace

double measure_fma_peak(double seconds) {
  volatile float sink = 0.0f;
  double best = 0.0;
  const auto start = Clock::now();
  // The best of short runs: the first ones also wake the vector units up to full clock.
  do {
    const auto t0 = Clock::now();
    double flops = 0.0;
    switch (active_isa()) {
      case Isa::avx512: flops = run_avx512(&sink); break;
      case Isa::avx2: flops = run_avx2(&sink); break;
      case Isa::generic: flops = run_generic(&sink); break;
    }
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (s > 0.0 && flops / s > best) best = flops / s;
  } while (std::chrono::duration<double>(Clock::now() - start).count() < seconds);
  return best / 1e9;
}

}  // namespace convoy
