#include "io/memory_batch_reader.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace convoy {
namespace {

Tensor numbered_images(int64_t n, int64_t c, int64_t h, int64_t w) {
  Tensor t(Shape{n, c, h, w});
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(i);
  return t;
}

TEST(MemoryBatchReader, DeliversPlannedSamples) {
  MemoryBatchReader reader(numbered_images(6, 1, 2, 2), {0, 1, 2, 0, 1, 2}, 3, {"a", "b", "c"});
  EXPECT_EQ(reader.info().size, 6);
  EXPECT_EQ(reader.info().sample, (Shape{1, 2, 2}));
  EXPECT_EQ(reader.info().classes, 3);
  reader.plan({{5, 0}, {2, 2, 4}});
  const Batch& first = reader.next();
  EXPECT_EQ(first.images.shape(), (Shape{2, 1, 2, 2}));
  EXPECT_EQ(first.indices, (std::vector<int64_t>{5, 0}));
  EXPECT_EQ(first.labels, (std::vector<int32_t>{2, 0}));
  EXPECT_EQ(first.images[0], 20.0f);
  EXPECT_EQ(first.images[3], 23.0f);
  EXPECT_EQ(first.images[4], 0.0f);
  const Batch& second = reader.next();
  EXPECT_EQ(second.images.shape(), (Shape{3, 1, 2, 2}));
  EXPECT_EQ(second.labels, (std::vector<int32_t>{2, 2, 1}));
  EXPECT_EQ(second.images[4], 8.0f);
  EXPECT_EQ(second.images[8], 16.0f);
  EXPECT_EQ(reader.samples_read(), 5);
  EXPECT_THROW(reader.next(), InternalError);
}

TEST(MemoryBatchReader, RejectsBadInput) {
  EXPECT_THROW(MemoryBatchReader(numbered_images(3, 1, 2, 2), {0, 1}, 2), ShapeError);
  EXPECT_THROW(MemoryBatchReader(numbered_images(2, 1, 2, 2), {0, 2}, 2), ConfigError);
  MemoryBatchReader reader(numbered_images(2, 1, 2, 2), {0, 1}, 2);
  // A plan or a next() that does not fit is the caller's bug.
  EXPECT_THROW(reader.plan({{0, 2}}), InternalError);
  EXPECT_THROW(reader.plan({{}}), InternalError);
  EXPECT_THROW(reader.next(), InternalError);
}

}  // namespace
}  // namespace convoy
