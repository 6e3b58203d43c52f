#include "core/shape.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace convoy {

TEST(Shape, CountsElementsAndSamples) {
  Shape s{64, 3, 28, 27};
  EXPECT_EQ(s.rank(), 4);
  EXPECT_EQ(s.numel(), 64 * 3 * 28 * 27);
  EXPECT_EQ(s.sample_numel(), 3 * 28 * 27);
  EXPECT_EQ(s.with_batch(5), (Shape{5, 3, 28, 27}));
  EXPECT_EQ(s.str(), "[64, 3, 28, 27]");
}

TEST(Shape, RejectsNegativeAndTooManyDimensions) {
  EXPECT_THROW((Shape{2, -1}), ShapeError);
  EXPECT_THROW((Shape{1, 2, 3, 4, 5}), ShapeError);
}

}  // namespace convoy
