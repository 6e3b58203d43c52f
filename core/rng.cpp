#include "core/rng.hpp"

#include <cmath>
#include <numbers>

namespace convoy {
namespace {

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

uint64_t random_bits(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b) {
  // Each counter passes through the mixer before joining, so (a, b) and (b, a) differ.
  uint64_t h = mix(seed + 0x9e3779b97f4a7c15ULL);
  h = mix(h ^ (static_cast<uint64_t>(purpose) * 0x9e3779b97f4a7c15ULL));
  h = mix(h ^ mix(a + 0x632be59bd9b4e019ULL));
  h = mix(h ^ mix(b + 0x85157af5ULL));
  return h;
}

float random_uniform(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b) {
  return static_cast<float>(random_bits(seed, purpose, a, b) >> 40) * (1.0f / 16777216.0f);
}

float random_normal(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b) {
  const uint64_t bits = random_bits(seed, purpose, a, b);
  // Two 32-bit halves give two uniforms; u1 is kept away from 0 for the logarithm.
  const double u1 = (static_cast<double>(bits >> 32) + 1.0) / 4294967297.0;
  const double u2 = static_cast<double>(bits & 0xffffffffULL) / 4294967296.0;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
}

}  // namespace convoy
