#include "io/dataset_parts.hpp"
#include "io/hdf5_dataset_writer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/error.hpp"
#include "io/channel_statistics.hpp"
#include "io/loader.hpp"
#include "tests/io/io_test_util.hpp"

namespace convoy {
namespace {

using testing::TempDir;

constexpr int64_t kH = 3, kW = 2, kC = 2, kSample = kH * kW * kC;

// Samples [first, first + n) of one numbering: pixels identify the sample, labels i % 4.
std::string write_part(const TempDir& dir, const std::string& name, int64_t first, int64_t n,
                       const std::vector<std::string>& classes = {"a", "b", "c", "d"}, int64_t height = kH) {
  std::vector<uint8_t> images;
  std::vector<int32_t> labels;
  ChannelStatistics stats(kC);
  for (int64_t i = first; i < first + n; ++i) {
    for (int64_t e = 0; e < height * kW * kC; ++e) images.push_back(testing::pixel(i, e));
    labels.push_back(static_cast<int32_t>(i % 4));
  }
  stats.add(images.data(), n * height * kW);
  const std::string path = dir.file(name);
  Hdf5DatasetWriter writer(path, {n, height, kW, kC}, classes);
  writer.append(n, images.data(), labels.data());
  writer.set_images_attribute("mean", stats.mean());
  writer.set_images_attribute("std", stats.stddev());
  writer.commit();
  return path;
}

TEST(DatasetParts, SeveralFilesReadAsTheOneFileHoldingThemAll) {
  TempDir dir;
  const std::string whole = write_part(dir, "whole.h5", 0, 23);
  const std::vector<std::string> parts = {write_part(dir, "p0.h5", 0, 10), write_part(dir, "p1.h5", 10, 4),
                                          write_part(dir, "p2.h5", 14, 9)};
  DatasetParts one = DatasetParts::open({whole});
  DatasetParts three = DatasetParts::open(parts);
  EXPECT_EQ(three.info().size, 23);
  EXPECT_EQ(three.info().sample, (Shape{kC, kH, kW}));
  EXPECT_EQ(three.info().classes, 4);
  EXPECT_EQ(three.info().class_names, one.info().class_names);
  // The same content hash, so the dataset fingerprint (and resume) sees one dataset.
  EXPECT_EQ(three.info().content_hash, one.info().content_hash);
  EXPECT_EQ(three.describe(), "'" + parts[0] + "' and 2 more files");

  const std::vector<int64_t> indices = {22, 3, 10, 13, 14, 0, 9, 3};  // every part, out of order, a repeat
  const auto n = static_cast<int64_t>(indices.size());
  std::vector<float> expected(n * kSample), got(n * kSample);
  std::vector<int32_t> expected_labels(n), got_labels(n);
  one.read(indices, expected.data(), expected_labels.data());
  three.read(indices, got.data(), got_labels.data());
  EXPECT_EQ(got, expected);
  EXPECT_EQ(got_labels, expected_labels);
  EXPECT_EQ(three.samples_read(), n);
  const std::vector<int64_t> outside = {23};
  EXPECT_THROW(three.read(outside, got.data(), got_labels.data()), ConfigError);

  // The parts' statistics combine to the whole file's.
  const Normalization a = one.statistics(), b = three.statistics();
  ASSERT_EQ(b.mean.size(), 2u);
  for (size_t c = 0; c < 2; ++c) {
    EXPECT_NEAR(b.mean[c], a.mean[c], 1e-6);
    EXPECT_NEAR(b.std[c], a.std[c], 1e-6);
  }
}

TEST(DatasetParts, AFileOfAnotherShapeOrOtherClassNamesIsNamedWithBothValues) {
  TempDir dir;
  const std::string first = write_part(dir, "first.h5", 0, 5);
  const std::string taller = write_part(dir, "taller.h5", 5, 5, {"a", "b", "c", "d"}, kH + 1);
  const std::string renamed = write_part(dir, "renamed.h5", 5, 5, {"a", "b", "c", "e"});
  try {
    DatasetParts::open({first, taller});
    ADD_FAILURE() << "a taller part was accepted";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("'" + taller + "' holds samples [2, 4, 2], '" + first + "' holds [2, 3, 2]"),
              std::string::npos)
        << e.what();
  }
  try {
    DatasetParts::open({first, renamed});
    ADD_FAILURE() << "other class names were accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'" + renamed + "' has class_names a,b,c,e, '" + first + "' has a,b,c,d"),
              std::string::npos)
        << e.what();
  }
}

TEST(Normalization, AppliesPerChannelAndRefusesWhatDoesNotFit) {
  const Normalization n{{0.5f, 0.25f}, {0.5f, 2.0f}};
  std::vector<float> images = {1.0f, 0.5f, 0.25f, 2.25f};  // [1, 2, 1, 2]
  n.apply(images.data(), 1, 2, 2);
  EXPECT_EQ(images, (std::vector<float>{1.0f, 0.0f, 0.0f, 1.0f}));
  EXPECT_NO_THROW(n.validate(2, "test"));
  EXPECT_THROW(n.validate(3, "test"), ConfigError);
  EXPECT_THROW((Normalization{{0.5f, 0.5f}, {0.5f, 0.0f}}.validate(2, "test")), ConfigError);
}

// A loader normalises after augmenting: a padded crop's zeros become -mean/std.
TEST(Loader, AugmentsBySampleAndEpochThenNormalises) {
  TempDir dir;
  const std::string path = write_part(dir, "d.h5", 0, 16);
  const Normalization norm{{0.5f, 0.5f}, {0.25f, 0.25f}};
  Loader plain(Hdf5Dataset::open(path));
  const LoaderOptions options = {
      .prefetch_depth = 2, .augmentation = Augmentation::parse("crop:1"), .seed = 5, .normalization = norm};
  Loader augmented(Hdf5Dataset::open(path), options);
  Loader other_split(Hdf5Dataset::open(path), options);
  plain.plan({{0, 1, 2, 3, 4, 5, 6, 7}});
  augmented.plan({{0, 1, 2, 3, 4, 5, 6, 7}}, 2);
  other_split.plan({{6, 7, 0}, {1, 2, 3, 4, 5}}, 2);  // the same samples in other batches, as with more ranks
  const Batch& p = plain.next();
  const Batch& a = augmented.next();
  const Batch& o1 = other_split.next();
  std::vector<float> first_three(o1.images.data(), o1.images.data() + 3 * kSample);
  const Batch& o2 = other_split.next();
  int padded = 0, zeros = 0, unchanged = 0;
  for (int64_t k = 0; k < 8; ++k) {
    const float* aug = a.images.data() + k * kSample;
    // The same sample, augmented in another batch of the same epoch: the same bits.
    const float* same = k >= 6 ? first_three.data() + (k - 6) * kSample
                       : k == 0 ? first_three.data() + 2 * kSample
                                : o2.images.data() + (k - 1) * kSample;
    for (int64_t e = 0; e < kSample; ++e) ASSERT_EQ(aug[e], same[e]) << "sample " << k;
    bool shifted = false;
    for (int64_t e = 0; e < kSample; ++e) {
      padded += aug[e] == (0.0f - 0.5f) / 0.25f;
      zeros += p.images.data()[k * kSample + e] == 0.0f;
      shifted |= aug[e] != (p.images.data()[k * kSample + e] - 0.5f) / 0.25f;
    }
    unchanged += !shifted;
  }
  EXPECT_GT(padded, zeros);    // zero padding, normalised, beyond the data's own zeros
  EXPECT_LT(unchanged, 8);     // most samples moved (1 in 9 draws no shift)
  // Another epoch draws other crops.
  augmented.plan({{0, 1, 2, 3, 4, 5, 6, 7}}, 3);
  const Batch& next_epoch = augmented.next();
  std::vector<float> a2(next_epoch.images.data(), next_epoch.images.data() + 8 * kSample);
  augmented.plan({{0, 1, 2, 3, 4, 5, 6, 7}}, 2);
  const Batch& again = augmented.next();
  EXPECT_NE(a2, std::vector<float>(again.images.data(), again.images.data() + 8 * kSample));
}

TEST(Loader, RefusesANormalisationOfAnotherChannelCount) {
  TempDir dir;
  const std::string path = write_part(dir, "d.h5", 0, 4);
  const LoaderOptions one_channel = {
      .prefetch_depth = 2, .augmentation = {}, .seed = 0, .normalization = {{0.5f}, {0.25f}}};
  EXPECT_THROW(Loader(Hdf5Dataset::open(path), one_channel), ConfigError);
}

}  // namespace
}  // namespace convoy
