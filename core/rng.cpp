#include "core/rng.hpp"

#include <cmath>
#include <numbers>

#include "core/kernels/cpu_features.hpp"

namespace convoy {
namespace {

inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// What random_bits mixes before b. Each counter passes through the mixer before joining, so (a,
// b) and (b, a) differ.
inline uint64_t keyed(uint64_t seed, RandomPurpose purpose, uint64_t a) {
  uint64_t h = mix(seed + 0x9e3779b97f4a7c15ULL);
  h = mix(h ^ (static_cast<uint64_t>(purpose) * 0x9e3779b97f4a7c15ULL));
  return mix(h ^ mix(a + 0x632be59bd9b4e019ULL));
}

inline uint64_t with_b(uint64_t key, uint64_t b) { return mix(key ^ mix(b + 0x85157af5ULL)); }

inline float uniform_of(uint64_t bits) { return static_cast<float>(bits >> 40) * (1.0f / 16777216.0f); }

// The row loop, compiled per ISA (64-bit multiplies vectorise with AVX-512DQ only).
inline void uniform_row(uint64_t key, uint64_t b0, int64_t count, float* out) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) out[i] = uniform_of(with_b(key, b0 + static_cast<uint64_t>(i)));
}

__attribute__((target("avx512f,avx512dq,avx512vl"), flatten)) void uniform_row_avx512(uint64_t key, uint64_t b0,
                                                                                      int64_t count, float* out) {
  uniform_row(key, b0, count, out);
}

__attribute__((flatten)) void uniform_row_generic(uint64_t key, uint64_t b0, int64_t count, float* out) {
  uniform_row(key, b0, count, out);
}

}  // namespace

uint64_t random_bits(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b) {
  return with_b(keyed(seed, purpose, a), b);
}

float random_uniform(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b) {
  return uniform_of(random_bits(seed, purpose, a, b));
}

void random_uniforms(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b0, int64_t count, float* out) {
  const uint64_t key = keyed(seed, purpose, a);
  if (active_isa() == Isa::avx512)
    uniform_row_avx512(key, b0, count, out);
  else
    uniform_row_generic(key, b0, count, out);
}

float random_normal(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b) {
  const uint64_t bits = random_bits(seed, purpose, a, b);
  // Two 32-bit halves give two uniforms; u1 is kept away from 0 for the logarithm.
  const double u1 = (static_cast<double>(bits >> 32) + 1.0) / 4294967297.0;
  const double u2 = static_cast<double>(bits & 0xffffffffULL) / 4294967296.0;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
}

}  // namespace convoy
