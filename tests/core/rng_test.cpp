#include "core/rng.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "tests/core/kernels/kernel_test_support.hpp"

namespace convoy {

TEST(Rng, IsAPureFunctionOfItsCounters) {
  EXPECT_EQ(random_bits(7, RandomPurpose::init, 3, 4), random_bits(7, RandomPurpose::init, 3, 4));
  EXPECT_NE(random_bits(7, RandomPurpose::init, 3, 4), random_bits(7, RandomPurpose::init, 4, 3));
  EXPECT_NE(random_bits(7, RandomPurpose::init, 3, 4), random_bits(8, RandomPurpose::init, 3, 4));
  EXPECT_NE(random_bits(7, RandomPurpose::init, 3, 4), random_bits(7, RandomPurpose::shuffle, 3, 4));
}

// Runs resumed from a checkpoint must draw what the binary that wrote it drew: the values are
// pinned, as the hash gave them when dropout, initialisation and shuffling were first written.
TEST(Rng, DrawsTheValuesItAlwaysDrew) {
  EXPECT_EQ(random_bits(7, RandomPurpose::init, 3, 4), 16388227303155269408ULL);
  EXPECT_EQ(random_bits(42, RandomPurpose::dropout, uint64_t{1} << 40, 123456789), 2122296448328135294ULL);
}

// random_uniforms is random_uniform a row at a time, on every ISA, whatever the row's length.
TEST(Rng, RowsOfUniformsAreTheSingleDraws) {
  testing::for_each_isa([](Isa) {
    for (int64_t count : {1, 37, 1000}) {
      std::vector<float> row(count);
      random_uniforms(9, RandomPurpose::dropout, 5, 1234567, count, row.data());
      for (int64_t i = 0; i < count; ++i)
        ASSERT_EQ(row[i], random_uniform(9, RandomPurpose::dropout, 5, 1234567 + i))
            << "element " << i << " of " << count;
    }
  });
}

TEST(Rng, UniformAndNormalHaveTheRightMoments) {
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    const float u = random_uniform(1, RandomPurpose::init, 0, i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    su += u;
    const double z = random_normal(1, RandomPurpose::init, 1, i);
    sn += z;
    sn2 += z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.02);
}

}  // namespace convoy
