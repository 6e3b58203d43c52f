#include "io/hdf5_dataset.hpp"
#include "io/hdf5_dataset_writer.hpp"
#include "tests/support/error_message.hpp"

#include <hdf5.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "tests/io/io_test_util.hpp"

namespace convoy {
namespace {

using testing::TempDir;

struct SmallSet {
  std::array<int64_t, 4> dims;
  std::vector<uint8_t> images;  // NHWC
  std::vector<int32_t> labels;
};

SmallSet make_set(int64_t n, int64_t h, int64_t w, int64_t c, int32_t classes) {
  SmallSet s{{n, h, w, c}, {}, {}};
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t e = 0; e < h * w * c; ++e) s.images.push_back(testing::pixel(i, e));
    s.labels.push_back(static_cast<int32_t>((i * 7 + 3) % classes));
  }
  return s;
}

// Expected float value of element (ch, y, x) of sample i, from the NHWC bytes.
float expected_pixel(const SmallSet& s, int64_t i, int64_t ch, int64_t y, int64_t x) {
  const auto [n, h, w, c] = s.dims;
  return static_cast<float>(s.images[((i * h + y) * w + x) * c + ch]) / 255.0f;
}

void expect_samples(const SmallSet& s, const std::vector<int64_t>& indices, const std::vector<float>& images,
                    const std::vector<int32_t>& labels) {
  const auto [n, h, w, c] = s.dims;
  for (size_t k = 0; k < indices.size(); ++k) {
    ASSERT_EQ(labels[k], s.labels[indices[k]]) << "position " << k;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t y = 0; y < h; ++y)
        for (int64_t x = 0; x < w; ++x)
          ASSERT_FLOAT_EQ(images[((k * c + ch) * h + y) * w + x], expected_pixel(s, indices[k], ch, y, x))
              << "position " << k << " sample " << indices[k] << " (" << ch << ", " << y << ", " << x << ")";
  }
}

using testing::error_message;

// Raw HDF5 writing for malformed files the Convoy writer refuses to produce.
class RawFile {
 public:
  explicit RawFile(const std::string& path) : file_(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) {
    EXPECT_GE(file_, 0);
  }
  ~RawFile() { H5Fclose(file_); }
  template <typename T>
  hid_t dataset(const char* name, hid_t file_type, hid_t mem_type, std::vector<hsize_t> dims, const std::vector<T>& data) {
    const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
    const hid_t d = H5Dcreate2(file_, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(d, 0);
    EXPECT_GE(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()), 0);
    H5Sclose(space);
    return d;  // caller closes
  }
  void dataset_u8(const char* name, std::vector<hsize_t> dims) {
    hsize_t total = 1;
    for (hsize_t d : dims) total *= d;
    std::vector<uint8_t> data(total, 7);
    H5Dclose(dataset(name, H5T_STD_U8LE, H5T_NATIVE_UINT8, dims, data));
  }
  void labels_i32(std::vector<int32_t> labels) {
    H5Dclose(dataset("labels", H5T_STD_I32LE, H5T_NATIVE_INT32, {labels.size()}, labels));
  }

 private:
  hid_t file_;
};

TEST(Hdf5Dataset, RoundTripRandomIndices) {
  TempDir dir;
  const SmallSet s = make_set(100, 5, 4, 3, 6);
  const std::vector<std::string> names = {"a", "bee", "c", "dé", "e", "f"};
  write_hdf5_dataset(dir.file("d.h5"), s.dims, s.images.data(), s.labels.data(), names);
  EXPECT_FALSE(std::filesystem::exists(dir.file("d.h5.tmp")));

  Hdf5Dataset d = Hdf5Dataset::open(dir.file("d.h5"));
  EXPECT_EQ(d.info().size, 100);
  EXPECT_EQ(d.info().sample, (Shape{3, 5, 4}));
  EXPECT_EQ(d.info().classes, 6);
  EXPECT_EQ(d.info().class_names, names);
  EXPECT_EQ(d.labels(), s.labels);

  std::mt19937 gen(42);
  std::uniform_int_distribution<int64_t> pick(0, 99);
  int64_t total = 0;
  for (int round = 0; round < 5; ++round) {
    std::vector<int64_t> indices(17);
    for (auto& i : indices) i = pick(gen);
    indices[3] = indices[4];  // a repeat
    indices[10] = 99;         // the last sample, and a run with the next
    indices[11] = 98;
    std::vector<float> images(indices.size() * 3 * 5 * 4, -1.0f);
    std::vector<int32_t> labels(indices.size(), -1);
    d.read(indices, images.data(), labels.data());
    expect_samples(s, indices, images, labels);
    total += static_cast<int64_t>(indices.size());
    EXPECT_EQ(d.samples_read(), total);
  }
}

// Note [Resident images]: within the budget the images are read once at open and batches come
// from memory, the same values as from the file; over it, from the file.
TEST(Hdf5Dataset, ResidentImagesReadAsFromTheFile) {
  TempDir dir;
  const SmallSet s = make_set(100, 5, 4, 3, 6);
  write_hdf5_dataset(dir.file("d.h5"), s.dims, s.images.data(), s.labels.data(), {});
  const int64_t bytes = 100 * 5 * 4 * 3;
  Hdf5Dataset resident = Hdf5Dataset::open(dir.file("d.h5"), {.memory_budget_bytes = bytes});
  Hdf5Dataset over = Hdf5Dataset::open(dir.file("d.h5"), {.memory_budget_bytes = bytes - 1});
  EXPECT_TRUE(resident.resident());
  EXPECT_FALSE(over.resident());
  EXPECT_FALSE(Hdf5Dataset::open(dir.file("d.h5")).resident());
  EXPECT_EQ(resident.image_bytes(), bytes);
  std::mt19937 gen(7);
  std::uniform_int_distribution<int64_t> pick(0, 99);
  for (int round = 0; round < 3; ++round) {
    std::vector<int64_t> indices(23);
    for (auto& i : indices) i = pick(gen);
    indices[5] = indices[6];  // a repeat
    std::vector<float> images(indices.size() * 60, -1.0f), from_file(indices.size() * 60, -2.0f);
    std::vector<int32_t> labels(indices.size(), -1), file_labels(indices.size(), -2);
    resident.read(indices, images.data(), labels.data());
    over.read(indices, from_file.data(), file_labels.data());
    expect_samples(s, indices, images, labels);
    EXPECT_EQ(images, from_file);
    EXPECT_EQ(labels, file_labels);
  }
  EXPECT_EQ(resident.samples_read(), 3 * 23);
  const std::vector<int64_t> outside = {100};
  std::vector<float> one(60);
  std::vector<int32_t> label(1);
  EXPECT_THROW(resident.read(outside, one.data(), label.data()), InternalError);
}

TEST(Hdf5Dataset, ChunkedAlongN) {
  TempDir dir;
  const SmallSet s = make_set(2000, 28, 28, 1, 10);
  write_hdf5_dataset(dir.file("d.h5"), s.dims, s.images.data(), s.labels.data(), {});
  const hid_t file = H5Fopen(dir.file("d.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(file, 0);
  const hid_t images = H5Dopen2(file, "images", H5P_DEFAULT);
  const hid_t dcpl = H5Dget_create_plist(images);
  ASSERT_EQ(H5Pget_layout(dcpl), H5D_CHUNKED);
  hsize_t chunk[4] = {};
  ASSERT_EQ(H5Pget_chunk(dcpl, 4, chunk), 4);
  EXPECT_EQ(chunk[1], 28u);
  EXPECT_EQ(chunk[2], 28u);
  EXPECT_EQ(chunk[3], 1u);
  EXPECT_EQ(static_cast<int64_t>(chunk[0]), Hdf5DatasetWriter::chunk_rows(s.dims));
  const hsize_t chunk_bytes = chunk[0] * 28 * 28;
  EXPECT_GE(chunk_bytes, 64u << 10);
  EXPECT_LE(chunk_bytes, 1u << 20);
  EXPECT_EQ(H5Pget_nfilters(dcpl), 0);  // no compression by default
  H5Pclose(dcpl);
  H5Dclose(images);
  H5Fclose(file);

  // Huge samples still get one sample a chunk; few samples a chunk no larger than N.
  EXPECT_EQ(Hdf5DatasetWriter::chunk_rows({10, 1000, 1000, 3}), 1);
  EXPECT_EQ(Hdf5DatasetWriter::chunk_rows({3, 2, 2, 1}), 3);
}

TEST(Hdf5Dataset, DeflateRoundTrip) {
  TempDir dir;
  const SmallSet s = make_set(40, 6, 6, 1, 3);
  write_hdf5_dataset(dir.file("d.h5"), s.dims, s.images.data(), s.labels.data(), {"x", "y", "z"},
                     {.deflate_level = 4});
  Hdf5Dataset d = Hdf5Dataset::open(dir.file("d.h5"), {.batch_hint = 4});
  const std::vector<int64_t> indices = {39, 0, 17, 18, 19, 5};
  std::vector<float> images(indices.size() * 36);
  std::vector<int32_t> labels(indices.size());
  d.read(indices, images.data(), labels.data());
  expect_samples(s, indices, images, labels);
}

TEST(Hdf5Dataset, ReadsRank3Float32AndOtherIntegerLabels) {
  TempDir dir;
  const std::string path = dir.file("f.h5");
  std::vector<float> pixels(4 * 2 * 3);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = 0.5f * static_cast<float>(i);
  {
    RawFile f(path);
    H5Dclose(f.dataset("images", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {4, 2, 3}, pixels));
    const hid_t labels =
        f.dataset("labels", H5T_STD_I64BE, H5T_NATIVE_INT64, {4}, std::vector<int64_t>{2, 0, 1, 2});
    // Fixed-length, NUL-padded names, as numpy 'S' arrays are stored.
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 5);
    const hsize_t count = 3;
    const hid_t space = H5Screate_simple(1, &count, nullptr);
    const hid_t attr = H5Acreate2(labels, "class_names", type, space, H5P_DEFAULT, H5P_DEFAULT);
    const char names[15] = {'c', 'a', 't', 0, 0, 'd', 'o', 'g', 0, 0, 'h', 'o', 'r', 's', 'e'};
    ASSERT_GE(H5Awrite(attr, type, names), 0);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(labels);
  }
  Hdf5Dataset d = Hdf5Dataset::open(path);
  EXPECT_EQ(d.info().sample, (Shape{1, 2, 3}));
  EXPECT_EQ(d.info().class_names, (std::vector<std::string>{"cat", "dog", "horse"}));
  EXPECT_EQ(d.info().classes, 3);
  const std::vector<int64_t> indices = {3, 1};
  std::vector<float> images(2 * 6);
  std::vector<int32_t> labels(2);
  d.read(indices, images.data(), labels.data());
  EXPECT_EQ(labels, (std::vector<int32_t>{2, 0}));
  for (int e = 0; e < 6; ++e) {
    EXPECT_EQ(images[e], pixels[3 * 6 + e]);  // float32 is delivered as stored
    EXPECT_EQ(images[6 + e], pixels[1 * 6 + e]);
  }
}

TEST(Hdf5Dataset, NonFiniteFloatImageIsAnErrorNamingTheSample) {
  TempDir dir;
  const std::string path = dir.file("nan.h5");
  std::vector<float> pixels(5 * 2 * 3, 0.25f);
  pixels[3 * 6 + 4] = std::nanf("");
  pixels[4 * 6 + 1] = INFINITY;
  {
    RawFile f(path);
    H5Dclose(f.dataset("images", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {5, 2, 3}, pixels));
    f.labels_i32({0, 1, 0, 1, 0});
  }
  Hdf5Dataset d = Hdf5Dataset::open(path);
  std::vector<float> images(3 * 6);
  std::vector<int32_t> labels(3);
  const std::vector<int64_t> finite = {2, 0, 1};
  d.read(finite, images.data(), labels.data());
  for (const std::vector<int64_t>& request : {std::vector<int64_t>{0, 3}, std::vector<int64_t>{2, 3, 1}}) {
    const std::string message = error_message<IoError>([&] { d.read(request, images.data(), labels.data()); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("/images sample 3 holds a non-finite value (nan at element 4"), std::string::npos)
        << message;
  }
  const std::vector<int64_t> last = {4};
  const std::string message = error_message<IoError>([&] { d.read(last, images.data(), labels.data()); });
  EXPECT_NE(message.find("/images sample 4 holds a non-finite value (inf at element 1"), std::string::npos) << message;
}

// A few hundred bytes of header can declare 5x10^7 samples that were never written: they would
// read as zeros (and their labels fill gigabytes). The file must store what it declares.
// Resident float images are checked once, at open, naming the first sample that is not finite.
TEST(Hdf5Dataset, ResidentNonFiniteFloatImageIsRefusedAtOpen) {
  TempDir dir;
  const std::string path = dir.file("nan.h5");
  std::vector<float> pixels(5 * 2 * 3, 0.25f);
  pixels[3 * 6 + 4] = std::nanf("");
  {
    RawFile f(path);
    H5Dclose(f.dataset("images", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {5, 2, 3}, pixels));
    f.labels_i32({0, 1, 0, 1, 0});
  }
  const std::string message =
      error_message<IoError>([&] { Hdf5Dataset::open(path, {.memory_budget_bytes = 1 << 20}); });
  EXPECT_NE(message.find("'" + path + "': /images sample 3 holds a non-finite value (nan at element 4"),
            std::string::npos)
      << message;
}

TEST(Hdf5Dataset, DeclaredSizeTheFileDoesNotStoreIsRefusedBeforeAllocating) {
  TempDir dir;
  const auto make = [&](const std::string& path, hsize_t declared, bool write_images) {
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[4] = {declared, 4, 4, 1}, chunk[4] = {1024, 4, 4, 1};
    const hid_t space = H5Screate_simple(4, dims, nullptr);
    const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 4, chunk);
    const hid_t images = H5Dcreate2(file, "images", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (write_images) {  // every chunk written (with one value): only /labels is missing then
      const hsize_t one[4] = {1, 4, 4, 1};
      const hid_t mem = H5Screate_simple(4, one, nullptr);
      const std::vector<uint8_t> pixels(16, 7);
      for (hsize_t c = 0; c < declared; c += 1024) {
        const hsize_t offset[4] = {c, 0, 0, 0};
        H5Sselect_hyperslab(space, H5S_SELECT_SET, offset, nullptr, one, nullptr);
        H5Dwrite(images, H5T_NATIVE_UINT8, mem, space, H5P_DEFAULT, pixels.data());
      }
      H5Sclose(mem);
    }
    const hid_t lspace = H5Screate_simple(1, dims, nullptr);
    const hid_t labels = H5Dcreate2(file, "labels", H5T_STD_I32LE, lspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    for (hid_t h : {labels, images}) H5Dclose(h);
    for (hid_t h : {lspace, space}) H5Sclose(h);
    H5Pclose(dcpl);
    H5Fclose(file);
  };
  make(dir.file("empty.h5"), 50'000'000, false);
  EXPECT_LT(std::filesystem::file_size(dir.file("empty.h5")), 10'000u);
  std::string message = error_message<IoError>([&] { Hdf5Dataset::open(dir.file("empty.h5")); });
  EXPECT_NE(message.find("/images declares [50000000, 4, 4, 1] but the file stores only 0 of its 48829 chunks"),
            std::string::npos)
      << message;
  make(dir.file("no-labels.h5"), 5000, true);
  message = error_message<IoError>([&] { Hdf5Dataset::open(dir.file("no-labels.h5")); });
  EXPECT_NE(message.find("/labels declares [5000] (20000 bytes) but the file stores 0 bytes of it"),
            std::string::npos)
      << message;
}

// A writer that learns late that fewer samples come (an import skipping bad files) shrinks N.
TEST(Hdf5Dataset, WriterShrinksAndWritesImagesAttributes) {
  TempDir dir;
  Hdf5DatasetWriter writer(dir.file("d.h5"), {5, 2, 2, 1}, {"a", "b"});
  const std::vector<uint8_t> images(12, 9);
  const std::vector<int32_t> labels = {1, 0, 1};
  writer.append(3, images.data(), labels.data());
  EXPECT_THROW(writer.shrink(2), InternalError);  // below what was appended
  writer.shrink(3);
  const std::vector<float> mean = {0.25f};
  writer.set_images_attribute("mean", mean);
  writer.commit();
  Hdf5Dataset d = Hdf5Dataset::open(dir.file("d.h5"));
  EXPECT_EQ(d.info().size, 3);
  EXPECT_EQ(d.labels(), labels);
  const hid_t file = H5Fopen(dir.file("d.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t set = H5Dopen2(file, "images", H5P_DEFAULT);
  const hid_t attr = H5Aopen(set, "mean", H5P_DEFAULT);
  float value = 0.0f;
  ASSERT_GE(H5Aread(attr, H5T_NATIVE_FLOAT, &value), 0);
  EXPECT_EQ(value, 0.25f);
  H5Aclose(attr);
  H5Dclose(set);
  H5Fclose(file);
}

// The import attributes as other tools write them: float64 lists (numpy's default), a
// fixed-length ASCII string and a variable-length ASCII one; a text where numbers belong is named.
TEST(Hdf5Dataset, ImagesAttributesAreReadWhateverTheirFloatOrStringType) {
  TempDir dir;
  const auto write = [&](const std::string& path, bool text_mean) {
    RawFile f(path);
    const hid_t images = f.dataset("images", H5T_STD_U8LE, H5T_NATIVE_UINT8, {2, 2, 2, 3}, std::vector<uint8_t>(24, 1));
    H5Dclose(f.dataset("labels", H5T_STD_I32LE, H5T_NATIVE_INT32, {2}, std::vector<int32_t>{0, 1}));
    const hsize_t three = 3;
    const hid_t list = H5Screate_simple(1, &three, nullptr);
    const double mean[3] = {0.5, 0.25, 0.125}, stddev[3] = {0.2, 0.3, 0.4};
    const hid_t fixed = H5Tcopy(H5T_C_S1);
    H5Tset_size(fixed, 8);
    const hid_t scalar = H5Screate(H5S_SCALAR);
    hid_t attr = text_mean ? H5Acreate2(images, "mean", fixed, scalar, H5P_DEFAULT, H5P_DEFAULT)
                           : H5Acreate2(images, "mean", H5T_IEEE_F64LE, list, H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(text_mean ? H5Awrite(attr, fixed, "bright\0\0") : H5Awrite(attr, H5T_NATIVE_DOUBLE, mean), 0);
    H5Aclose(attr);
    attr = H5Acreate2(images, "std", H5T_IEEE_F64LE, list, H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(H5Awrite(attr, H5T_NATIVE_DOUBLE, stddev), 0);
    H5Aclose(attr);
    attr = H5Acreate2(images, "aspect", fixed, scalar, H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(H5Awrite(attr, fixed, "crop\0\0\0\0"), 0);
    H5Aclose(attr);
    const hid_t variable = H5Tcopy(H5T_C_S1);
    H5Tset_size(variable, H5T_VARIABLE);
    attr = H5Acreate2(images, "resize_filter", variable, scalar, H5P_DEFAULT, H5P_DEFAULT);
    const char* area = "area";
    EXPECT_GE(H5Awrite(attr, variable, &area), 0);
    H5Aclose(attr);
    H5Tclose(variable);
    H5Tclose(fixed);
    H5Sclose(scalar);
    H5Sclose(list);
    H5Dclose(images);
  };
  write(dir.file("a.h5"), false);
  const ImageAttributes a = Hdf5Dataset::open(dir.file("a.h5")).image_attributes();
  EXPECT_EQ(a.mean, (std::vector<float>{0.5f, 0.25f, 0.125f}));
  EXPECT_EQ(a.std, (std::vector<float>{0.2f, 0.3f, 0.4f}));
  EXPECT_EQ(a.aspect, "crop");
  EXPECT_EQ(a.resize_filter, "area");
  write(dir.file("b.h5"), true);
  const std::string message = error_message<IoError>([&] { Hdf5Dataset::open(dir.file("b.h5")); });
  EXPECT_NE(message.find("b.h5': attribute mean of /images: expected numbers"), std::string::npos) << message;
}

TEST(Hdf5Dataset, MissingImagesIsNamed) {
  TempDir dir;
  const std::string path = dir.file("x.h5");
  RawFile(path).labels_i32({0, 1});
  const std::string message = error_message<IoError>([&] { Hdf5Dataset::open(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("expected a dataset /images"), std::string::npos) << message;
}

TEST(Hdf5Dataset, MissingLabelsIsNamed) {
  TempDir dir;
  const std::string path = dir.file("x.h5");
  RawFile(path).dataset_u8("images", {2, 3, 3, 1});
  const std::string message = error_message<IoError>([&] { Hdf5Dataset::open(path); });
  EXPECT_NE(message.find("expected a dataset /labels [2]"), std::string::npos) << message;
}

TEST(Hdf5Dataset, CountMismatchIsAShapeError) {
  TempDir dir;
  const std::string path = dir.file("x.h5");
  {
    RawFile f(path);
    f.dataset_u8("images", {3, 2, 2, 1});
    f.labels_i32({0, 1});
  }
  const std::string message = error_message<ShapeError>([&] { Hdf5Dataset::open(path); });
  EXPECT_NE(message.find("/images has 3 samples but /labels has 2"), std::string::npos) << message;
}

TEST(Hdf5Dataset, WrongImageRankIsAShapeError) {
  TempDir dir;
  const std::string path = dir.file("x.h5");
  {
    RawFile f(path);
    f.dataset_u8("images", {2, 784});
    f.labels_i32({0, 1});
  }
  const std::string message = error_message<ShapeError>([&] { Hdf5Dataset::open(path); });
  EXPECT_NE(message.find("expected rank 4 [N,H,W,C] (or 3 [N,H,W]), found rank 2 [2, 784]"), std::string::npos)
      << message;
}

TEST(Hdf5Dataset, WrongImageTypeIsNamed) {
  TempDir dir;
  const std::string path = dir.file("x.h5");
  {
    RawFile f(path);
    H5Dclose(f.dataset("images", H5T_STD_I16LE, H5T_NATIVE_INT16, {2, 2, 2, 1}, std::vector<int16_t>(8, 1)));
    f.labels_i32({0, 1});
  }
  const std::string message = error_message<IoError>([&] { Hdf5Dataset::open(path); });
  EXPECT_NE(message.find("expected uint8 or float32 elements, found int16"), std::string::npos) << message;
}

TEST(Hdf5Dataset, LabelOutsideClassesIsNamed) {
  TempDir dir;
  const SmallSet s = make_set(5, 2, 2, 1, 3);
  std::vector<int32_t> labels = {0, 1, 2, 1, 0};
  write_hdf5_dataset(dir.file("ok.h5"), s.dims, s.images.data(), labels.data(), {});
  // Without class names the file states no class count (not max + 1 = 3): the caller gives it.
  EXPECT_EQ(Hdf5Dataset::open(dir.file("ok.h5")).info().classes, 0);
  EXPECT_EQ(Hdf5Dataset::open(dir.file("ok.h5"), {.expected_classes = 5}).info().classes, 5);
  const std::string message =
      error_message<IoError>([&] { Hdf5Dataset::open(dir.file("ok.h5"), {.expected_classes = 2}); });
  EXPECT_NE(message.find("/labels[2] = 2 is outside [0, 2)"), std::string::npos) << message;

  // A file whose labels exceed its class_names.
  const std::string path = dir.file("bad.h5");
  {
    RawFile f(path);
    f.dataset_u8("images", {3, 2, 2, 1});
    const hid_t l = f.dataset("labels", H5T_STD_U8LE, H5T_NATIVE_INT32, {3}, std::vector<int32_t>{0, 4, 1});
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    const hsize_t count = 2;
    const hid_t space = H5Screate_simple(1, &count, nullptr);
    const hid_t attr = H5Acreate2(l, "class_names", type, space, H5P_DEFAULT, H5P_DEFAULT);
    const char* names[2] = {"no", "yes"};
    H5Awrite(attr, type, names);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(l);
  }
  const std::string bad = error_message<IoError>([&] { Hdf5Dataset::open(path); });
  EXPECT_NE(bad.find("/labels[1] = 4 is outside [0, 2) (2 classes from the class_names attribute)"),
            std::string::npos)
      << bad;

  // Negative labels are always out of range.
  {
    RawFile f(dir.file("neg.h5"));
    f.dataset_u8("images", {2, 2, 2, 1});
    f.labels_i32({0, -1});
  }
  const std::string negative = error_message<IoError>([&] { Hdf5Dataset::open(dir.file("neg.h5")); });
  EXPECT_NE(negative.find("/labels[1] = -1 is negative"), std::string::npos) << negative;
}

// Note [Dataset file identity]: HDF5 reads past a truncated end as zeros without an error, so a
// file cut short, rewritten or replaced while in use must be noticed by the reader itself.
TEST(Hdf5Dataset, FileChangedWhileInUseIsAnErrorNotZeros) {
  TempDir dir;
  const SmallSet s = make_set(200, 8, 8, 1, 4);
  const std::vector<int64_t> last = {198, 199};
  std::vector<float> images(2 * 64);
  std::vector<int32_t> labels(2);
  const auto changed_message = [&](Hdf5Dataset& d) {
    return error_message<IoError>([&] { d.read(last, images.data(), labels.data()); });
  };
  const std::string path = dir.file("d.h5");

  write_hdf5_dataset(path, s.dims, s.images.data(), s.labels.data(), {});
  Hdf5Dataset truncated = Hdf5Dataset::open(path);
  truncated.read(last, images.data(), labels.data());  // unchanged: reads
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size / 2);
  std::string message = changed_message(truncated);
  EXPECT_NE(message.find("HDF5 dataset '" + path + "' changed while in use: its size went from " +
                         std::to_string(size) + " to " + std::to_string(size / 2) + " bytes"),
            std::string::npos)
      << message;

  write_hdf5_dataset(path, s.dims, s.images.data(), s.labels.data(), {});
  Hdf5Dataset rewritten = Hdf5Dataset::open(path);
  std::filesystem::last_write_time(path, std::filesystem::last_write_time(path) + std::chrono::seconds(2));
  message = changed_message(rewritten);
  EXPECT_NE(message.find("changed while in use: it was written to"), std::string::npos) << message;

  write_hdf5_dataset(dir.file("other.h5"), s.dims, s.images.data(), s.labels.data(), {});
  Hdf5Dataset replaced = Hdf5Dataset::open(path);
  std::filesystem::rename(dir.file("other.h5"), path);
  message = changed_message(replaced);
  EXPECT_NE(message.find("changed while in use: it was replaced by another file"), std::string::npos) << message;
}

// Found by hdf5_dataset_fuzz: a chunk dimension damaged from 2 to 258 made libhdf5 read a
// deflated chunk far past its inflated bytes (a heap over-read inside H5Dread); such a file is
// now refused at open, naming the chunk shape.
TEST(Hdf5Dataset, ChunksWiderThanTheSamplesAreRefused) {
  TempDir dir;
  const SmallSet s = make_set(7, 3, 2, 2, 3);
  const std::string path = dir.file("d.h5");
  write_hdf5_dataset(path, s.dims, s.images.data(), s.labels.data(), {}, {.deflate_level = 1});
  std::vector<uint8_t> bytes = testing::read_bytes(path);
  const uint8_t chunk[16] = {7, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0};  // /images' chunk dims, 32-bit LE
  int patched = 0;
  for (size_t i = 0; i + 16 <= bytes.size(); ++i)
    if (std::memcmp(bytes.data() + i, chunk, 16) == 0) bytes[i + 13] = 1, ++patched;  // 2 -> 258
  ASSERT_EQ(patched, 1) << "the layout message's chunk dimensions were not found";
  testing::write_bytes(path, bytes, false);
  const std::string message = error_message<IoError>([&] { Hdf5Dataset::open(path); });
  EXPECT_NE(message.find("/images [7, 3, 2, 2] is stored in chunks of [7, 3, 2, 258], beyond its samples' extent"),
            std::string::npos)
      << message;
}

// Found by hdf5_dataset_fuzz: a damaged label type 60932 bytes wide made libhdf5 convert past
// the end of a chunk's bytes; labels must be integers of 1, 2, 4 or 8 bytes.
TEST(Hdf5Dataset, LabelsOfAnOddIntegerWidthAreRefused) {
  TempDir dir;
  const std::string path = dir.file("wide.h5");
  {
    RawFile f(path);
    f.dataset_u8("images", {3, 2, 2, 1});
    const hid_t wide = H5Tcopy(H5T_STD_I32LE);
    H5Tset_size(wide, 16);
    H5Dclose(f.dataset("labels", wide, H5T_NATIVE_INT32, {3}, std::vector<int32_t>{0, 1, 0}));
    H5Tclose(wide);
  }
  const std::string message = error_message<IoError>([&] { Hdf5Dataset::open(path); });
  EXPECT_NE(message.find("/labels: expected integers of 1, 2, 4 or 8 bytes, found 16 bytes"), std::string::npos)
      << message;
}

TEST(Hdf5Dataset, MissingOrNonHdf5FileIsNamed) {
  TempDir dir;
  std::string message = error_message<IoError>([&] { Hdf5Dataset::open(dir.file("none.h5")); });
  EXPECT_NE(message.find(dir.file("none.h5") + "': file not found"), std::string::npos) << message;
  testing::write_bytes(dir.file("text.h5"), {'h', 'e', 'l', 'l', 'o'}, false);
  message = error_message<IoError>([&] { Hdf5Dataset::open(dir.file("text.h5")); });
  EXPECT_NE(message.find("not an HDF5 file"), std::string::npos) << message;
}

TEST(Hdf5Dataset, IndexOutsideDatasetIsAnInternalError) {
  TempDir dir;
  const SmallSet s = make_set(10, 2, 2, 1, 2);
  write_hdf5_dataset(dir.file("d.h5"), s.dims, s.images.data(), s.labels.data(), {});
  Hdf5Dataset d = Hdf5Dataset::open(dir.file("d.h5"));
  std::vector<float> images(8);
  std::vector<int32_t> labels(2);
  const std::vector<int64_t> indices = {1, 10};
  const std::string message = error_message<InternalError>([&] { d.read(indices, images.data(), labels.data()); });
  EXPECT_NE(message.find("sample index 10 is outside [0, 10)"), std::string::npos) << message;
  EXPECT_EQ(d.samples_read(), 0);
}

TEST(Hdf5Dataset, WriterChecksItsInputAndLeavesNoPartialFile) {
  TempDir dir;
  const std::string path = dir.file("w.h5");
  const SmallSet s = make_set(4, 2, 2, 1, 2);
  {
    Hdf5DatasetWriter writer(path, s.dims, {"a", "b"});
    const int32_t bad_label = 2;
    EXPECT_THROW(writer.append(1, s.images.data(), &bad_label), ConfigError);
    writer.append(2, s.images.data(), s.labels.data());
    EXPECT_THROW(writer.append(3, s.images.data(), s.labels.data()), InternalError);  // 2 + 3 > 4
    EXPECT_THROW(writer.commit(), InternalError);                                     // only 2 of 4
    EXPECT_TRUE(std::filesystem::exists(atomic_temp_path(path)));
  }
  EXPECT_FALSE(std::filesystem::exists(atomic_temp_path(path)));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_THROW(Hdf5DatasetWriter(path, {0, 2, 2, 1}, {}), ConfigError);

  // Written in two pieces, read back whole.
  {
    Hdf5DatasetWriter writer(path, s.dims, {"a", "b"});
    writer.append(1, s.images.data(), s.labels.data());
    writer.append(3, s.images.data() + 4, s.labels.data() + 1);
    writer.commit();
  }
  Hdf5Dataset d = Hdf5Dataset::open(path);
  const std::vector<int64_t> indices = {0, 1, 2, 3};
  std::vector<float> images(16);
  std::vector<int32_t> labels(4);
  d.read(indices, images.data(), labels.data());
  expect_samples(s, indices, images, labels);
}


TEST(Hdf5Dataset, Hdf5ErrorStackBecomesOneLineMessage) {
  TempDir dir;
  const std::string path = dir.file("no/such/folder/x.h5");
  ::testing::internal::CaptureStderr();
  const std::string message = error_message<IoError>([&] { Hdf5DatasetWriter(path, {1, 1, 1, 1}, {}); });
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");  // HDF5's own printing is off
  EXPECT_NE(message.find("HDF5 file '" + atomic_temp_path(path) + "': H5Fcreate failed: H5Fcreate: unable to create file"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
}

}  // namespace
}  // namespace convoy
