#include "io/loader.hpp"

#include <hdf5.h>

#include <gtest/gtest.h>

#include <cstdio>

#include <set>
#include <string>

#include "core/error.hpp"
#include "io/hdf5_dataset_writer.hpp"
#include "tests/io/io_test_util.hpp"

namespace convoy {
namespace {

using testing::TempDir;

constexpr int64_t kN = 64, kH = 3, kW = 2, kC = 2;

// A dataset whose pixels identify their sample, so a delivered batch can be checked exactly.
std::string make_dataset(const TempDir& dir) {
  std::vector<uint8_t> images;
  std::vector<int32_t> labels;
  for (int64_t i = 0; i < kN; ++i) {
    for (int64_t e = 0; e < kH * kW * kC; ++e) images.push_back(testing::pixel(i, e));
    labels.push_back(static_cast<int32_t>(i % 5));
  }
  const std::string path = dir.file("d.h5");
  write_hdf5_dataset(path, {kN, kH, kW, kC}, images.data(), labels.data(), {});
  return path;
}

void expect_batch(const Batch& batch, const std::vector<int64_t>& indices) {
  const auto n = static_cast<int64_t>(indices.size());
  ASSERT_EQ(batch.indices, indices);
  ASSERT_EQ(batch.images.shape(), (Shape{n, kC, kH, kW}));
  ASSERT_EQ(static_cast<int64_t>(batch.labels.size()), n);
  for (int64_t k = 0; k < n; ++k) {
    const int64_t i = indices[k];
    ASSERT_EQ(batch.labels[k], i % 5);
    for (int64_t ch = 0; ch < kC; ++ch)
      for (int64_t p = 0; p < kH * kW; ++p)
        ASSERT_FLOAT_EQ(batch.images[(k * kC + ch) * kH * kW + p], testing::pixel(i, p * kC + ch) / 255.0f)
            << "batch position " << k << " sample " << i;
  }
}

std::vector<std::vector<int64_t>> make_plan(int batches, int64_t first, int64_t stride) {
  std::vector<std::vector<int64_t>> plan;
  for (int b = 0; b < batches; ++b) {
    std::vector<int64_t> batch;
    const int size = 3 + b % 4;  // batch sizes vary, as the last batch of an epoch does
    for (int k = 0; k < size; ++k) batch.push_back((first + (b * 7 + k) * stride) % kN);
    plan.push_back(batch);
  }
  return plan;
}

TEST(Loader, DeliversPlannedBatchesInOrder) {
  TempDir dir;
  Loader loader(Hdf5Dataset::open(make_dataset(dir)));
  EXPECT_EQ(loader.info().size, kN);
  EXPECT_EQ(loader.info().sample, (Shape{kC, kH, kW}));
  const auto plan = make_plan(12, 5, 13);
  int64_t planned = 0;
  for (const auto& b : plan) planned += static_cast<int64_t>(b.size());
  loader.plan(plan);
  std::set<const float*> buffers;
  for (const auto& indices : plan) {
    const Batch& batch = loader.next();
    expect_batch(batch, indices);
    buffers.insert(batch.images.data());
  }
  // Preallocated slots are reused: at most depth + 1 distinct buffers (plus regrowth).
  EXPECT_LE(buffers.size(), 6u);
  EXPECT_EQ(loader.samples_read(), planned);
  EXPECT_THROW(loader.next(), InternalError);
}

TEST(Loader, NextWithoutPlanIsAnInternalError) {
  TempDir dir;
  Loader loader(Hdf5Dataset::open(make_dataset(dir)));
  EXPECT_THROW(loader.next(), InternalError);
  EXPECT_THROW(loader.plan({{1, 2}, {}}), InternalError);
}

TEST(Loader, ReplanMidwayDeliversTheNewPlan) {
  TempDir dir;
  Loader loader(Hdf5Dataset::open(make_dataset(dir)), {.prefetch_depth = 3});
  const auto first = make_plan(10, 0, 1);
  loader.plan(first);
  expect_batch(loader.next(), first[0]);
  expect_batch(loader.next(), first[1]);
  const auto second = make_plan(6, 11, 5);
  loader.plan(second);
  for (const auto& indices : second) expect_batch(loader.next(), indices);
  EXPECT_THROW(loader.next(), InternalError);

  // Re-planning many times without consuming, with reads in flight, still delivers the last plan.
  for (int r = 0; r < 50; ++r) loader.plan(make_plan(8, r, 3));
  const auto last = make_plan(4, 2, 9);
  loader.plan(last);
  for (const auto& indices : last) expect_batch(loader.next(), indices);
}

TEST(Loader, SamplesReadCountsOnlyPlannedSamples) {
  TempDir dir;
  Loader loader(Hdf5Dataset::open(make_dataset(dir)), {.prefetch_depth = 1});
  // A rank's share: every other sample of the dataset.
  std::vector<std::vector<int64_t>> plan;
  for (int64_t b = 0; b < 8; ++b) plan.push_back({4 * b, 4 * b + 2});
  loader.plan(plan);
  for (const auto& indices : plan) expect_batch(loader.next(), indices);
  EXPECT_EQ(loader.samples_read(), 16);
}

TEST(Loader, ReadErrorSurfacesFromNext) {
  TempDir dir;
  Loader loader(Hdf5Dataset::open(make_dataset(dir)));
  loader.plan({{0, 1}, {2, kN + 5}, {3}});
  expect_batch(loader.next(), {0, 1});  // batches before the failure still arrive
  try {
    loader.next();
    FAIL() << "expected the out-of-range index to be reported";
  } catch (const InternalError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("d.h5"), std::string::npos) << message;
    EXPECT_NE(message.find("sample index 69 is outside [0, 64)"), std::string::npos) << message;
  }
  EXPECT_THROW(loader.next(), InternalError);  // stays failed until re-planned
  loader.plan({{4, 5}});
  expect_batch(loader.next(), {4, 5});
}

TEST(Loader, DestroyedWithReadsInFlight) {
  TempDir dir;
  const std::string path = make_dataset(dir);
  for (int r = 0; r < 20; ++r) {
    Loader loader(Hdf5Dataset::open(path));
    loader.plan(make_plan(30, r, 1));
    if (r % 2 == 0) expect_batch(loader.next(), make_plan(1, r, 1)[0]);
  }
}


TEST(Loader, Hdf5ReadErrorSurfacesFromNextWithoutPrinting) {
  TempDir dir;
  const std::string path = dir.file("z.h5");
  std::vector<uint8_t> images(400 * 32 * 32, 0);
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<uint8_t>(i * 7 % 13);
  std::vector<int32_t> labels(400, 1);
  write_hdf5_dataset(path, {400, 32, 32, 1}, images.data(), labels.data(), {}, {.deflate_level = 1});
  // Overwrite the compressed bytes of the second chunk, so inflating it fails inside H5Dread.
  haddr_t address = 0;
  hsize_t size = 0;
  {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    const hid_t dset = H5Dopen2(file, "images", H5P_DEFAULT);
    hsize_t offset[4];
    unsigned mask = 0;
    const hid_t space = H5Dget_space(dset);
    ASSERT_GE(H5Dget_chunk_info(dset, space, 1, offset, &mask, &address, &size), 0);
    H5Sclose(space);
    EXPECT_EQ(offset[0], static_cast<hsize_t>(Hdf5DatasetWriter::chunk_rows({400, 32, 32, 1})));
    H5Dclose(dset);
    H5Fclose(file);
  }
  ASSERT_GT(size, 16u);
  {
    FILE* f = std::fopen(path.c_str(), "r+b");
    ASSERT_NE(f, nullptr);
    std::fseek(f, static_cast<long>(address), SEEK_SET);
    const std::vector<uint8_t> garbage(static_cast<size_t>(size), 0xA5);
    std::fwrite(garbage.data(), 1, garbage.size(), f);
    std::fclose(f);
  }
  Loader loader(Hdf5Dataset::open(path));
  const int64_t in_second_chunk = Hdf5DatasetWriter::chunk_rows({400, 32, 32, 1}) + 1;
  loader.plan({{0}, {in_second_chunk}});
  EXPECT_EQ(loader.next().labels[0], 1);
  ::testing::internal::CaptureStderr();
  try {
    loader.next();
    ADD_FAILURE() << "expected an IoError";
  } catch (const IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("HDF5 file '" + path + "': H5Dread /images failed: "), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace
}  // namespace convoy
