// Tests of io/image_decode: each format against the pixels written, and every kind of bad file.
#include "io/image_decode.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include "core/error.hpp"
#include "tests/support/image_files.hpp"
#include "tests/support/temp_dir.hpp"

namespace convoy {
namespace {

using testing::read_file;
using testing::TempDir;

// An odd size, every pixel different: catches row strides, padding and channel order.
Image pattern(int64_t h, int64_t w, int64_t c) {
  Image im{h, w, c, {}};
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k) im.pixels.push_back(static_cast<uint8_t>(40 * y + 7 * x + 90 * k));
  return im;
}

// Four constant quadrants of 16 x 16: JPEG blocks (and 4:2:0 chroma blocks) stay constant.
Image quadrants(int64_t c) {
  const uint8_t values[4][3] = {{20, 200, 60}, {240, 30, 120}, {90, 90, 250}, {160, 170, 10}};
  Image im{32, 32, c, {}};
  for (int64_t y = 0; y < 32; ++y)
    for (int64_t x = 0; x < 32; ++x)
      for (int64_t k = 0; k < c; ++k) im.pixels.push_back(values[(y / 16) * 2 + x / 16][k]);
  return im;
}

void expect_near(const Image& got, const Image& expected, int tolerance) {
  ASSERT_EQ(got.height, expected.height);
  ASSERT_EQ(got.width, expected.width);
  ASSERT_EQ(got.channels, expected.channels);
  for (size_t i = 0; i < got.pixels.size(); ++i)
    ASSERT_LE(std::abs(int{got.pixels[i]} - int{expected.pixels[i]}), tolerance) << "element " << i;
}

std::string error_of(const std::string& path, const ImageLimits& limits = {}) {
  try {
    read_image_file(path, limits);
  } catch (const IoError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ImageDecode, PngGreyRgbAndAlphaExactly) {
  TempDir dir;
  testing::write_png(dir.file("grey.png"), pattern(5, 7, 1));
  testing::write_png(dir.file("rgb.png"), pattern(5, 7, 3));
  testing::write_png(dir.file("rgba.png"), pattern(3, 9, 3), true);
  testing::write_png(dir.file("grey-alpha.png"), pattern(4, 3, 1), true);
  expect_near(read_image_file(dir.file("grey.png")), pattern(5, 7, 1), 0);
  expect_near(read_image_file(dir.file("rgb.png")), pattern(5, 7, 3), 0);
  expect_near(read_image_file(dir.file("rgba.png")), pattern(3, 9, 3), 0);
  expect_near(read_image_file(dir.file("grey-alpha.png")), pattern(4, 3, 1), 0);
}

TEST(ImageDecode, Png16BitAndPalette) {
  TempDir dir;
  testing::write_png16_grey(dir.file("16.png"), pattern(3, 5, 1));
  expect_near(read_image_file(dir.file("16.png")), pattern(3, 5, 1), 0);
  const std::vector<uint8_t> palette = {0, 0, 0, 255, 0, 0, 10, 20, 30};
  testing::write_png_palette(dir.file("p.png"), Image{1, 3, 1, {2, 0, 1}}, palette);
  EXPECT_EQ(read_image_file(dir.file("p.png")).pixels, (std::vector<uint8_t>{10, 20, 30, 0, 0, 0, 255, 0, 0}));
}

TEST(ImageDecode, JpegGreyAndRgb) {
  TempDir dir;
  testing::write_jpeg(dir.file("grey.jpg"), quadrants(1), 95);
  testing::write_jpeg(dir.file("rgb.jpeg"), quadrants(3), 95);
  expect_near(read_image_file(dir.file("grey.jpg")), quadrants(1), 1);
  expect_near(read_image_file(dir.file("rgb.jpeg")), quadrants(3), 3);  // through YCbCr and back
}

TEST(ImageDecode, BmpAndGifExactly) {
  TempDir dir;
  testing::write_bmp(dir.file("a.bmp"), pattern(3, 5, 3));  // 15-byte rows padded to 16
  expect_near(read_image_file(dir.file("a.bmp")), pattern(3, 5, 3), 0);
  const std::vector<uint8_t> palette = {0, 0, 0, 255, 0, 0, 0, 255, 0, 1, 2, 3};
  testing::write_gif(dir.file("a.gif"), Image{2, 3, 1, {0, 1, 2, 3, 2, 1}}, palette);
  EXPECT_EQ(read_image_file(dir.file("a.gif")).pixels,
            (std::vector<uint8_t>{0, 0, 0, 255, 0, 0, 0, 255, 0, 1, 2, 3, 0, 255, 0, 255, 0, 0}));
}

TEST(ImageDecode, FormatComesFromTheBytesNotTheName) {
  TempDir dir;
  testing::write_png(dir.file("really-a-png.jpg"), pattern(2, 2, 3));
  expect_near(read_image_file(dir.file("really-a-png.jpg")), pattern(2, 2, 3), 0);
  EXPECT_EQ(sniff_image_format(read_file(dir.file("really-a-png.jpg"))), ImageFormat::png);
}

TEST(ImageDecode, BadFilesAreIoErrorsNamingThem) {
  TempDir dir;
  testing::write_file(dir.file("empty.png"), {});
  testing::write_file(dir.file("text.png"), {'h', 'e', 'l', 'l', 'o'});
  EXPECT_NE(error_of(dir.file("empty.png")).find("empty.png': expected an image, found an empty file"),
            std::string::npos);
  EXPECT_NE(error_of(dir.file("text.png")).find("text.png': expected a PNG, JPEG, BMP or GIF file, found bytes 68 65"),
            std::string::npos)
      << error_of(dir.file("text.png"));
  EXPECT_NE(error_of(dir.file("missing.png")).find("missing.png': cannot open"), std::string::npos);

  for (const char* name : {"cut.png", "cut.jpg", "cut.bmp"}) {
    const std::string path = dir.file(name);
    const Image im = pattern(40, 40, 3);
    if (name[4] == 'p') testing::write_png(path, im);
    if (name[4] == 'j') testing::write_jpeg(path, im);
    if (name[4] == 'b') testing::write_bmp(path, im);
    std::vector<uint8_t> bytes = read_file(path);
    bytes.resize(bytes.size() * 2 / 3);
    testing::write_file(path, bytes);
    const std::string e = error_of(path);
    EXPECT_NE(e.find(path), std::string::npos) << e;
    EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  }
  // A flipped byte inside the PNG pixel data fails its CRC.
  testing::write_png(dir.file("flip.png"), pattern(20, 20, 3));
  std::vector<uint8_t> bytes = read_file(dir.file("flip.png"));
  bytes[bytes.size() - 30] ^= 0x55;
  testing::write_file(dir.file("flip.png"), bytes);
  EXPECT_NE(error_of(dir.file("flip.png")).find("flip.png': corrupt"), std::string::npos) << error_of(dir.file("flip.png"));
}

TEST(ImageDecode, DeclaredSizeIsCheckedBeforeDecoding) {
  TempDir dir;
  testing::write_png(dir.file("small.png"), pattern(10, 12, 1));
  EXPECT_NE(error_of(dir.file("small.png"), ImageLimits{.max_side = 11}).find("declares 12x10 pixels, expected at most 11"),
            std::string::npos)
      << error_of(dir.file("small.png"), ImageLimits{.max_side = 11});
  EXPECT_NE(error_of(dir.file("small.png"), ImageLimits{.max_pixels = 100}).find("declares 12x10"), std::string::npos);
  // A 1x1 file whose header claims 16000 x 16000 (4 bytes of data for 256 M pixels).
  std::vector<uint8_t> bytes = read_file(dir.file("small.png"));
  for (int i : {16, 20}) {
    bytes[i] = 0, bytes[i + 1] = 0, bytes[i + 2] = 0x3e, bytes[i + 3] = 0x80;
  }
  const uLong crc = crc32(0, bytes.data() + 12, 17);  // IHDR type and data
  for (int i = 0; i < 4; ++i) bytes[29 + i] = static_cast<uint8_t>(crc >> (24 - 8 * i));
  testing::write_file(dir.file("bomb.png"), bytes);
  EXPECT_NE(error_of(dir.file("bomb.png")).find("declares 16000x16000 pixels"), std::string::npos)
      << error_of(dir.file("bomb.png"));
}

}  // namespace
}  // namespace convoy
