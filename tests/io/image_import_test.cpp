// Tests of io/image_folder and io/image_import: listing, split, streaming import, bad files.
#include "io/image_import.hpp"

#include <gtest/gtest.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "io/hdf5_dataset.hpp"
#include "tests/support/image_files.hpp"
#include "tests/support/temp_dir.hpp"

namespace convoy {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::vector<float> images_attribute(const std::string& path, const char* name) {
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t images = H5Dopen2(file, "images", H5P_DEFAULT);
  const hid_t attr = H5Aopen(images, name, H5P_DEFAULT);
  std::vector<float> values;
  if (attr >= 0) {
    const hid_t space = H5Aget_space(attr);
    values.resize(static_cast<size_t>(H5Sget_simple_extent_npoints(space)));
    H5Aread(attr, H5T_NATIVE_FLOAT, values.data());
    H5Sclose(space);
    H5Aclose(attr);
  }
  H5Dclose(images);
  H5Fclose(file);
  return values;
}

// Every sample of a dataset: images [N, C, H, W] in [0, 1] and labels.
std::pair<std::vector<float>, std::vector<int32_t>> read_all(Hdf5Dataset& d) {
  const int64_t n = d.info().size;
  std::vector<int64_t> indices(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) indices[i] = i;
  std::vector<float> images(static_cast<size_t>(n * d.info().sample.numel()));
  std::vector<int32_t> labels(static_cast<size_t>(n));
  d.read(indices, images.data(), labels.data());
  return {images, labels};
}

ImageImportOptions options_for(const TempDir& dir, int64_t channels) {
  ImageImportOptions o;
  o.output = dir.file("train.h5");
  o.height = 12;
  o.width = 10;
  o.channels = channels;
  o.threads = 2;
  o.block = 5;  // several blocks, and a last short one
  return o;
}

TEST(ImageFolder, ClassesAreSortedSubFoldersAndFilesAreFoundBelowThem) {
  TempDir dir;
  const std::vector<std::string> written = testing::write_three_class_folder(dir.file("photos"), 4);
  const ImageFolder folder = list_image_folder(dir.file("photos"));
  EXPECT_EQ(folder.class_names, (std::vector<std::string>{"a dark", "b bright", "c stripes"}));
  EXPECT_EQ(folder.files, written);  // README.txt and the loose root file are not listed
  EXPECT_EQ(folder.labels, (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
  EXPECT_THROW(list_image_folder(dir.file("nowhere")), IoError);
  fs::create_directories(dir.file("flat"));
  EXPECT_THROW(list_image_folder(dir.file("flat")), IoError);
}

TEST(ImageFolder, ValidationSplitIsAFunctionOfTheSeed) {
  const std::vector<bool> a = validation_split(1000, 0.2, 7), b = validation_split(1000, 0.2, 7);
  const std::vector<bool> c = validation_split(1000, 0.2, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::count(a.begin(), a.end(), true), 200);
  EXPECT_EQ(std::count(a.begin(), a.begin() + 500, true), std::count(a.begin(), a.begin() + 500, true));
  EXPECT_GT(std::count(a.begin(), a.begin() + 500, true), 60);  // spread over the listing, not a block
  EXPECT_GT(std::count(a.begin() + 500, a.end(), true), 60);
  EXPECT_THROW(validation_split(10, 1.0, 1), ConfigError);
}

TEST(ImageImport, WritesShapesLabelsClassNamesAndStatistics) {
  TempDir dir;
  testing::write_three_class_folder(dir.file("photos"), 5);
  const ImageFolder folder = list_image_folder(dir.file("photos"));
  for (int64_t channels : {1, 3}) {
    const ImageImportReport r = import_image_folder(folder, options_for(dir, channels));
    EXPECT_EQ(r.train, 15);
    EXPECT_TRUE(r.bad.empty());
    Hdf5Dataset d = Hdf5Dataset::open(dir.file("train.h5"));
    EXPECT_EQ(d.info().sample, (Shape{channels, 12, 10}));
    EXPECT_EQ(d.info().class_names, folder.class_names);
    const auto [images, labels] = read_all(d);
    EXPECT_EQ(labels, folder.labels);
    // Sample 0 is the first file, prepared exactly as the importer prepares it.
    const Image expected = prepare_image(read_image_file(folder.files[0]), 12, 10, channels, AspectMode::stretch,
                                         ResizeFilter::bilinear);
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t p = 0; p < 120; ++p)
        ASSERT_FLOAT_EQ(images[c * 120 + p], expected.pixels[p * channels + c] / 255.0f);
    const std::vector<float> mean = images_attribute(dir.file("train.h5"), "mean");
    const std::vector<float> stddev = images_attribute(dir.file("train.h5"), "std");
    ASSERT_EQ(mean.size(), static_cast<size_t>(channels));
    ASSERT_EQ(stddev.size(), static_cast<size_t>(channels));
    for (int64_t c = 0; c < channels; ++c) {
      double sum = 0.0, sq = 0.0;
      for (int64_t n = 0; n < 15; ++n)
        for (int64_t p = 0; p < 120; ++p) {
          const double v = images[(n * channels + c) * 120 + p];
          sum += v, sq += v * v;
        }
      const double m = sum / (15 * 120);
      EXPECT_NEAR(mean[c], m, 1e-5);
      EXPECT_NEAR(stddev[c], std::sqrt(sq / (15 * 120) - m * m), 1e-5);
      EXPECT_NEAR(r.mean[c], mean[c], 0.0);
    }
    // What the reader gives the loader and convoy predict (Note [Preprocessing record]).
    EXPECT_EQ(d.image_attributes().mean, mean);
    EXPECT_EQ(d.image_attributes().std, stddev);
    EXPECT_EQ(d.image_attributes().resize_filter, "bilinear");
    EXPECT_EQ(d.image_attributes().aspect, "stretch");
    EXPECT_GT(stddev[0], 0.2f);  // dark, bright and stripes: a wide spread
  }
}

TEST(ImageImport, BadFilesFailTheImportAndWriteNothing) {
  TempDir dir;
  testing::write_three_class_folder(dir.file("photos"), 4);
  testing::write_file(dir.file("photos/b bright/sub dir/zero bytes.png"), {});
  testing::write_file(dir.file("photos/c stripes/not an image.jpg"), {'<', 'h', 't', 'm', 'l', '>'});
  testing::write_file(dir.file("train.h5"), {'o', 'l', 'd'});  // a previous output stays as it was
  const ImageFolder folder = list_image_folder(dir.file("photos"));
  ImageImportOptions o = options_for(dir, 3);
  o.val_output = dir.file("val.h5");
  o.val_split = 0.25;
  try {
    import_image_folder(folder, o);
    FAIL() << "expected an IoError";
  } catch (const IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("2 of 14 files could not be imported, nothing was written"), std::string::npos) << message;
    EXPECT_NE(message.find("zero bytes.png': expected an image, found an empty file"), std::string::npos) << message;
    EXPECT_NE(message.find("not an image.jpg': expected a PNG, JPEG"), std::string::npos) << message;
  }
  EXPECT_EQ(testing::read_file(dir.file("train.h5")), (std::vector<uint8_t>{'o', 'l', 'd'}));
  // Nothing else is left in the folder: no validation file, no temporary of either.
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.path())) left.push_back(entry.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"photos", "train.h5"}));

  o.skip_bad = true;
  const ImageImportReport r = import_image_folder(folder, o);
  EXPECT_EQ(r.bad.size(), 2u);
  EXPECT_EQ(r.train + r.validation, 12);
  const std::vector<bool> is_val = validation_split(14, 0.25, 0);  // 3 of the 14 listed, bad ones included
  int64_t good_val = 0;
  for (size_t i = 0; i < is_val.size(); ++i)
    good_val += is_val[i] && folder.files[i].find("zero bytes") == std::string::npos &&
                folder.files[i].find("not an image") == std::string::npos;
  EXPECT_EQ(r.validation, good_val);
  EXPECT_EQ(Hdf5Dataset::open(dir.file("train.h5")).info().size, r.train);
  EXPECT_EQ(Hdf5Dataset::open(dir.file("val.h5")).info().size, r.validation);
}

TEST(ImageImport, ValidationSplitPartitionsTheFilesBySeed) {
  TempDir dir;
  testing::write_three_class_folder(dir.file("photos"), 6);
  const ImageFolder folder = list_image_folder(dir.file("photos"));
  ImageImportOptions o = options_for(dir, 1);
  o.val_output = dir.file("val.h5");
  o.val_split = 0.5;
  o.seed = 3;
  import_image_folder(folder, o);
  Hdf5Dataset train = Hdf5Dataset::open(dir.file("train.h5")), val = Hdf5Dataset::open(dir.file("val.h5"));
  EXPECT_EQ(train.info().size, 9);
  EXPECT_EQ(val.info().size, 9);
  const std::vector<bool> is_val = validation_split(18, 0.5, 3);
  std::vector<int32_t> expected_val;
  for (size_t i = 0; i < is_val.size(); ++i)
    if (is_val[i]) expected_val.push_back(folder.labels[i]);
  EXPECT_EQ(val.labels(), expected_val);
  EXPECT_EQ(images_attribute(dir.file("val.h5"), "mean").size(), 1u);
}

TEST(ImageImport, CropAndPadToTheAspectRatio) {
  // A 2 x 6 image, left half 100, right half 200; target 4 x 4 (square).
  Image im{2, 6, 1, {100, 100, 100, 200, 200, 200, 100, 100, 100, 200, 200, 200}};
  const Image cropped = fit_aspect(im, 4, 4, AspectMode::crop);  // the middle 2 x 2
  EXPECT_EQ(cropped.pixels, (std::vector<uint8_t>{100, 200, 100, 200}));
  const Image padded = fit_aspect(im, 4, 4, AspectMode::pad);  // 6 x 6, two black rows above and below
  ASSERT_EQ(padded.height, 6);
  ASSERT_EQ(padded.width, 6);
  EXPECT_EQ(padded.at(1, 0, 0), 0);
  EXPECT_EQ(padded.at(2, 0, 0), 100);
  EXPECT_EQ(padded.at(3, 5, 0), 200);
  EXPECT_EQ(padded.at(4, 5, 0), 0);
  EXPECT_EQ(fit_aspect(im, 4, 4, AspectMode::stretch).pixels, im.pixels);
}

}  // namespace
}  // namespace convoy
