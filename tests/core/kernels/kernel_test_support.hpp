// Helpers shared by the kernel tests: random data, closeness to a reference, every ISA.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/kernels/cpu_features.hpp"
#include "core/rng.hpp"

namespace convoy::testing {

inline std::vector<float> random_values(int64_t n, uint64_t seed) {
  std::vector<float> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = 2.0f * random_uniform(seed, RandomPurpose::init, 11, i) - 1.0f;
  return v;
}

// |got - want| <= 1e-4 * (1 + |want|) element by element.
inline void expect_close(const std::vector<float>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], 1e-4 * (1.0 + std::abs(want[i]))) << what << " element " << i;
}

// Runs body(isa) once for every instruction set this CPU supports, restoring the default after.
template <typename Body>
void for_each_isa(Body body) {
  const Isa original = active_isa();
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512}) {
    if (!set_isa(isa)) continue;
    SCOPED_TRACE(isa_name(isa));
    body(isa);
  }
  set_isa(original);
}

}  // namespace convoy::testing
