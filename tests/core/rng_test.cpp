#include "core/rng.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace convoy {

TEST(Rng, IsAPureFunctionOfItsCounters) {
  EXPECT_EQ(random_bits(7, RandomPurpose::init, 3, 4), random_bits(7, RandomPurpose::init, 3, 4));
  EXPECT_NE(random_bits(7, RandomPurpose::init, 3, 4), random_bits(7, RandomPurpose::init, 4, 3));
  EXPECT_NE(random_bits(7, RandomPurpose::init, 3, 4), random_bits(8, RandomPurpose::init, 3, 4));
  EXPECT_NE(random_bits(7, RandomPurpose::init, 3, 4), random_bits(7, RandomPurpose::shuffle, 3, 4));
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
