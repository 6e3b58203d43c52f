#include "io/idx_convert.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include <string>

#include "core/error.hpp"
#include "io/class_names.hpp"
#include "io/hdf5_dataset.hpp"
#include "tests/io/io_test_util.hpp"

namespace convoy {
namespace {

using testing::idx_bytes;
using testing::TempDir;
using testing::write_bytes;

TEST(ConvertIdx, WritesADatasetMatchingTheIdxFiles) {
  TempDir dir;
  std::vector<uint8_t> pixels;
  for (int i = 0; i < 7; ++i)
    for (int e = 0; e < 12; ++e) pixels.push_back(testing::pixel(i, e));
  const std::vector<uint8_t> labels = {9, 0, 3, 3, 1, 8, 5};
  write_bytes(dir.file("img.gz"), idx_bytes({7, 3, 4}, pixels), true);
  write_bytes(dir.file("lab"), idx_bytes({7}, labels), false);
  convert_idx_to_hdf5(dir.file("img.gz"), dir.file("lab"), dir.file("out.h5"), fashion_mnist_class_names());

  Hdf5Dataset d = Hdf5Dataset::open(dir.file("out.h5"));
  EXPECT_EQ(d.info().size, 7);
  EXPECT_EQ(d.info().sample, (Shape{1, 3, 4}));
  EXPECT_EQ(d.info().classes, 10);
  EXPECT_EQ(d.info().class_names, fashion_mnist_class_names());
  const std::vector<int64_t> indices = {6, 0, 3};
  std::vector<float> images(3 * 12);
  std::vector<int32_t> read_labels(3);
  d.read(indices, images.data(), read_labels.data());
  EXPECT_EQ(read_labels, (std::vector<int32_t>{5, 9, 3}));
  for (int k = 0; k < 3; ++k)
    for (int e = 0; e < 12; ++e) EXPECT_FLOAT_EQ(images[k * 12 + e], testing::pixel(indices[k], e) / 255.0f);
  // The mean and std attributes an image import writes, over every pixel (Note [Normalisation]).
  double sum = 0, sq = 0;
  for (uint8_t v : pixels) sum += v / 255.0, sq += (v / 255.0) * (v / 255.0);
  const double mean = sum / 84;
  ASSERT_EQ(d.image_attributes().mean.size(), 1u);
  ASSERT_EQ(d.image_attributes().std.size(), 1u);
  EXPECT_NEAR(d.image_attributes().mean[0], mean, 1e-6);
  EXPECT_NEAR(d.image_attributes().std[0], std::sqrt(sq / 84 - mean * mean), 1e-6);
  EXPECT_EQ(d.image_attributes().resize_filter, "");  // not resized
}

TEST(ConvertIdx, CountMismatchNamesBothFiles) {
  TempDir dir;
  write_bytes(dir.file("img"), idx_bytes({3, 2, 2}, std::vector<uint8_t>(12, 1)), false);
  write_bytes(dir.file("lab"), idx_bytes({2}, {0, 1}), false);
  try {
    convert_idx_to_hdf5(dir.file("img"), dir.file("lab"), dir.file("out.h5"), {});
    FAIL() << "expected an IoError";
  } catch (const IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(dir.file("img")), std::string::npos) << message;
    EXPECT_NE(message.find(dir.file("lab")), std::string::npos) << message;
    EXPECT_NE(message.find("found 3 images and 2 labels"), std::string::npos) << message;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.h5")));
}

TEST(ConvertIdx, LabelWithoutClassNameIsAConfigError) {
  TempDir dir;
  write_bytes(dir.file("img"), idx_bytes({2, 2, 2}, std::vector<uint8_t>(8, 1)), false);
  write_bytes(dir.file("lab"), idx_bytes({2}, {0, 2}), false);
  EXPECT_THROW(convert_idx_to_hdf5(dir.file("img"), dir.file("lab"), dir.file("out.h5"), {"a", "b"}), ConfigError);
  // Without names any labels are written, and the file states no class count (not 2 + 1 = 3).
  convert_idx_to_hdf5(dir.file("img"), dir.file("lab"), dir.file("out.h5"), {});
  const Hdf5Dataset d = Hdf5Dataset::open(dir.file("out.h5"));
  EXPECT_EQ(d.info().classes, 0);
  EXPECT_EQ(d.labels(), (std::vector<int32_t>{0, 2}));
}

// --size: every sample through resize_image, streamed in blocks (2000 samples: two blocks).
TEST(ConvertIdx, ResizesEverySample) {
  TempDir dir;
  const int n = 2000;
  std::vector<uint8_t> pixels, labels;
  for (int i = 0; i < n; ++i) {
    for (int e = 0; e < 12; ++e) pixels.push_back(testing::pixel(i, e));
    labels.push_back(static_cast<uint8_t>(i % 3));
  }
  write_bytes(dir.file("img"), idx_bytes({n, 3, 4}, pixels), false);
  write_bytes(dir.file("lab"), idx_bytes({n}, labels), false);
  convert_idx_to_hdf5(dir.file("img"), dir.file("lab"), dir.file("out.h5"), {}, {},
                      ResizeTarget{.height = 5, .width = 7, .filter = ResizeFilter::bilinear});
  Hdf5Dataset d = Hdf5Dataset::open(dir.file("out.h5"));
  ASSERT_EQ(d.info().size, n);
  EXPECT_EQ(d.info().sample, (Shape{1, 5, 7}));
  const std::vector<int64_t> indices = {0, 1500, 1999};
  std::vector<float> images(3 * 35);
  std::vector<int32_t> read_labels(3);
  d.read(indices, images.data(), read_labels.data());
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(read_labels[k], indices[k] % 3);
    const uint8_t* src = pixels.data() + indices[k] * 12;
    const Image expected =
        resize_image(Image{3, 4, 1, std::vector<uint8_t>(src, src + 12)}, 5, 7, ResizeFilter::bilinear);
    for (int e = 0; e < 35; ++e) EXPECT_FLOAT_EQ(images[k * 35 + e], expected.pixels[e] / 255.0f) << k << "," << e;
  }
  // Statistics over the resized pixels, and the filter, as convoy predict will repeat it.
  ASSERT_EQ(d.image_attributes().mean.size(), 1u);
  EXPECT_GT(d.image_attributes().mean[0], 0.1f);
  EXPECT_GT(d.image_attributes().std[0], 0.1f);
  EXPECT_EQ(d.image_attributes().resize_filter, "bilinear");
  EXPECT_EQ(d.image_attributes().aspect, "stretch");
}

}  // namespace
}  // namespace convoy
