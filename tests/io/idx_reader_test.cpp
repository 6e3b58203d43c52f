#include "io/idx_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "tests/io/io_test_util.hpp"
#include "tests/support/error_message.hpp"

namespace convoy {
namespace {

using testing::idx_bytes;
using testing::TempDir;
using testing::write_bytes;

std::vector<uint8_t> sample_images(int n, int h, int w) {
  std::vector<uint8_t> data;
  for (int i = 0; i < n; ++i)
    for (int e = 0; e < h * w; ++e) data.push_back(testing::pixel(i, e));
  return data;
}

// The message of the IoError `f` throws; fails the test if it throws anything else or nothing.
template <typename F>
std::string io_error_message(F&& f) {
  return testing::error_message<IoError>(f);
}

class IdxRoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(IdxRoundTrip, ImagesAndLabels) {
  const bool gzip = GetParam();
  TempDir dir;
  const auto images = sample_images(5, 4, 3);
  const std::vector<uint8_t> labels = {3, 0, 9, 1, 7};
  write_bytes(dir.file("images"), idx_bytes({5, 4, 3}, images), gzip);
  write_bytes(dir.file("labels"), idx_bytes({5}, labels), gzip);
  // gzip output starts with the gzip magic, raw output with the IDX magic.
  EXPECT_EQ(testing::read_bytes(dir.file("images"))[0], gzip ? 0x1f : 0x00);

  const IdxArray read_images = read_idx_images(dir.file("images"));
  EXPECT_EQ(read_images.dims, (std::vector<int64_t>{5, 4, 3}));
  EXPECT_EQ(read_images.data, images);
  const IdxArray read_labels = read_idx_labels(dir.file("labels"));
  EXPECT_EQ(read_labels.dims, (std::vector<int64_t>{5}));
  EXPECT_EQ(read_labels.data, labels);
}

INSTANTIATE_TEST_SUITE_P(IdxFormats, IdxRoundTrip, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Gzip" : "Raw"; });

TEST(IdxReader, TruncatedRawDataSaysExpectedAndFound) {
  TempDir dir;
  auto bytes = idx_bytes({3, 28, 28}, sample_images(3, 28, 28));
  bytes.resize(bytes.size() - 100);
  write_bytes(dir.file("t.idx"), bytes, false);
  const std::string message = io_error_message([&] { read_idx(dir.file("t.idx")); });
  EXPECT_NE(message.find("IDX file '" + dir.file("t.idx") + "'"), std::string::npos) << message;
  EXPECT_NE(message.find("expected 2352 bytes of image data for 3x28x28, found 2252"), std::string::npos) << message;
}

TEST(IdxReader, TruncatedGzipSaysExpectedAndFound) {
  TempDir dir;
  auto bytes = idx_bytes({4, 28, 28}, sample_images(4, 28, 28));
  bytes.resize(16 + 1000);
  write_bytes(dir.file("t.gz"), bytes, true);
  const std::string message = io_error_message([&] { read_idx(dir.file("t.gz")); });
  EXPECT_NE(message.find("expected 3136 bytes of image data for 4x28x28, found 1000"), std::string::npos) << message;
}

TEST(IdxReader, CutGzipStreamIsReported) {
  TempDir dir;
  write_bytes(dir.file("whole.gz"), idx_bytes({4, 28, 28}, sample_images(4, 28, 28)), true);
  auto compressed = testing::read_bytes(dir.file("whole.gz"));
  compressed.resize(compressed.size() / 2);
  write_bytes(dir.file("cut.gz"), compressed, false);
  const std::string message = io_error_message([&] { read_idx(dir.file("cut.gz")); });
  EXPECT_NE(message.find("expected 3136 bytes of image data for 4x28x28"), std::string::npos) << message;
}

TEST(IdxReader, TrailingBytesAreAnError) {
  TempDir dir;
  auto bytes = idx_bytes({4}, {1, 2, 3, 4});
  bytes.push_back(5);
  write_bytes(dir.file("labels"), bytes, false);
  const std::string message = io_error_message([&] { read_idx(dir.file("labels")); });
  EXPECT_NE(message.find("expected 4 bytes of label data for 4, found 5"), std::string::npos) << message;
}

TEST(IdxReader, WrongMagicIsAnError) {
  TempDir dir;
  auto bytes = idx_bytes({4}, {1, 2, 3, 4});
  bytes[0] = 0x12;
  write_bytes(dir.file("a"), bytes, false);
  EXPECT_NE(io_error_message([&] { read_idx(dir.file("a")); }).find("not an IDX file"), std::string::npos);

  bytes = idx_bytes({4}, {1, 2, 3, 4});
  bytes[2] = 0x0D;  // float elements
  write_bytes(dir.file("b"), bytes, true);
  EXPECT_NE(io_error_message([&] { read_idx(dir.file("b")); }).find("expected element type 0x08"), std::string::npos);

  write_bytes(dir.file("c"), {0, 0}, false);
  EXPECT_NE(io_error_message([&] { read_idx(dir.file("c")); }).find("expected a 4-byte magic number, found 2"),
            std::string::npos);
}

TEST(IdxReader, WrongRankIsAnError) {
  TempDir dir;
  write_bytes(dir.file("labels"), idx_bytes({4}, {1, 2, 3, 4}), false);
  const std::string message = io_error_message([&] { read_idx_images(dir.file("labels")); });
  EXPECT_NE(message.find("of rank 3, found rank 1"), std::string::npos) << message;
  write_bytes(dir.file("images"), idx_bytes({1, 2, 2}, {1, 2, 3, 4}), false);
  EXPECT_THROW(read_idx_labels(dir.file("images")), IoError);
}

TEST(IdxReader, MissingFileIsNamed) {
  TempDir dir;
  const std::string message = io_error_message([&] { read_idx(dir.file("nope.gz")); });
  EXPECT_NE(message.find(dir.file("nope.gz")), std::string::npos) << message;
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
}

TEST(IdxReader, ReadsFashionMnistTestSet) {
  const std::string dir = CONVOY_FASHION_MNIST_DIR;
  const IdxArray images = read_idx_images(dir + "/t10k-images-idx3-ubyte.gz");
  const IdxArray labels = read_idx_labels(dir + "/t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(images.dims, (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_EQ(images.data.size(), 10000u * 28 * 28);
  EXPECT_EQ(labels.dims, (std::vector<int64_t>{10000}));
  EXPECT_LT(*std::max_element(labels.data.begin(), labels.data.end()), 10);
  // Every class occurs (the test set is balanced: 1000 each).
  std::vector<int> counts(10, 0);
  for (uint8_t l : labels.data) ++counts[l];
  for (int c : counts) EXPECT_EQ(c, 1000);
  // Real pictures: not all zero, and both dark and bright pixels occur.
  EXPECT_EQ(*std::max_element(images.data.begin(), images.data.end()), 255);
  EXPECT_EQ(*std::min_element(images.data.begin(), images.data.end()), 0);
}

}  // namespace
}  // namespace convoy
