// Tests of io/image_resize: hand-computed values, exact block means, and a naive 2-D reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/error.hpp"
#include "io/image_resize.hpp"

namespace convoy {
namespace {

Image make_image(int64_t h, int64_t w, int64_t c, uint32_t seed) {
  Image im{h, w, c, std::vector<uint8_t>(static_cast<size_t>(h * w * c))};
  uint32_t s = seed;
  for (auto& p : im.pixels) {
    s = s * 1664525u + 1013904223u;
    p = static_cast<uint8_t>(s >> 24);
  }
  return im;
}

Image row_image(std::vector<uint8_t> values) {
  const auto w = static_cast<int64_t>(values.size());
  return Image{1, w, 1, std::move(values)};
}

// The weight of input pixel i for output pixel x, straight from Note [Resize filters].
double reference_weight(int64_t i, int64_t x, int64_t in, int64_t out, ResizeFilter filter) {
  const double s = static_cast<double>(in) / out;
  if (filter == ResizeFilter::area) return std::max(0.0, std::min((x + 1) * s, i + 1.0) - std::max(x * s, i * 1.0));
  const double r = std::max(s, 1.0);
  return std::max(0.0, 1.0 - std::abs(i + 0.5 - (x + 0.5) * s) / r);
}

// Every output pixel as one 2-D weighted sum over the whole input, in double.
Image reference_resize(const Image& in, int64_t h, int64_t w, ResizeFilter filter) {
  Image out{h, w, in.channels, std::vector<uint8_t>(static_cast<size_t>(h * w * in.channels))};
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t c = 0; c < in.channels; ++c) {
        double sum = 0.0, total = 0.0;
        for (int64_t i = 0; i < in.height; ++i)
          for (int64_t j = 0; j < in.width; ++j) {
            const double k = reference_weight(i, y, in.height, h, filter) * reference_weight(j, x, in.width, w, filter);
            sum += k * in.at(i, j, c);
            total += k;
          }
        out.pixels[(y * w + x) * in.channels + c] = static_cast<uint8_t>(std::floor(sum / total + 0.5));
      }
  return out;
}

TEST(ImageResize, ConstantImageStaysConstant) {
  for (ResizeFilter filter : {ResizeFilter::area, ResizeFilter::bilinear}) {
    Image im{7, 5, 3, std::vector<uint8_t>(7 * 5 * 3, 173)};
    for (auto [h, w] : {std::pair<int64_t, int64_t>{3, 2}, {7, 5}, {16, 11}, {1, 1}}) {
      const Image out = resize_image(im, h, w, filter);
      ASSERT_EQ(out.pixels.size(), static_cast<size_t>(h * w * 3));
      for (uint8_t p : out.pixels) EXPECT_EQ(p, 173) << h << "x" << w;
    }
  }
}

TEST(ImageResize, AreaHalvingIsTheMeanOfEachTwoByTwoBlock) {
  const Image im = make_image(6, 8, 3, 11);
  const Image out = resize_image(im, 3, 4, ResizeFilter::area);
  ASSERT_EQ(out.height, 3);
  ASSERT_EQ(out.width, 4);
  ASSERT_EQ(out.channels, 3);
  for (int64_t y = 0; y < 3; ++y)
    for (int64_t x = 0; x < 4; ++x)
      for (int64_t c = 0; c < 3; ++c) {
        const int64_t sum = im.at(2 * y, 2 * x, c) + im.at(2 * y, 2 * x + 1, c) + im.at(2 * y + 1, 2 * x, c) +
                            im.at(2 * y + 1, 2 * x + 1, c);
        EXPECT_EQ(out.at(y, x, c), (sum + 2) / 4) << y << "," << x << "," << c;  // rounded half up
      }
}

TEST(ImageResize, HandComputedGradients) {
  // Enlarging [0, 100] to 4: centres 0.25, 0.75, 1.25, 1.75 between input centres 0.5 and 1.5.
  EXPECT_EQ(resize_image(row_image({0, 100}), 1, 4, ResizeFilter::bilinear).pixels,
            (std::vector<uint8_t>{0, 25, 75, 100}));
  // Shrinking [0, 40, 80, 120] to 2: triangle of radius 2 around 1.0 and 3.0, weights 0.75,
  // 0.75, 0.25 (sum 1.75): 50 / 1.75 = 28.57 and 160 / 1.75 = 91.43.
  EXPECT_EQ(resize_image(row_image({0, 40, 80, 120}), 1, 2, ResizeFilter::bilinear).pixels,
            (std::vector<uint8_t>{29, 91}));
  // Area 3 -> 2: spans [0, 1.5) and [1.5, 3): (0 + 0.5 * 30) / 1.5 and (0.5 * 30 + 90) / 1.5.
  EXPECT_EQ(resize_image(row_image({0, 30, 90}), 1, 2, ResizeFilter::area).pixels, (std::vector<uint8_t>{10, 70}));
}

TEST(ImageResize, AlongColumnsAsAlongRows) {
  Image column{4, 1, 1, {0, 40, 80, 120}};
  EXPECT_EQ(resize_image(column, 2, 1, ResizeFilter::bilinear).pixels, (std::vector<uint8_t>{29, 91}));
}

class ResizeAgainstReference
    : public ::testing::TestWithParam<std::tuple<ResizeFilter, int64_t, int64_t, int64_t, int64_t>> {};

TEST_P(ResizeAgainstReference, WithinOneLevel) {
  const auto [filter, in_h, in_w, out_h, out_w] = GetParam();
  const Image im = make_image(in_h, in_w, 3, static_cast<uint32_t>(in_h * 31 + in_w));
  const Image out = resize_image(im, out_h, out_w, filter);
  const Image ref = reference_resize(im, out_h, out_w, filter);
  ASSERT_EQ(out.pixels.size(), ref.pixels.size());
  for (size_t i = 0; i < out.pixels.size(); ++i)
    ASSERT_LE(std::abs(int{out.pixels[i]} - int{ref.pixels[i]}), 1) << "element " << i;
}

INSTANTIATE_TEST_SUITE_P(Sizes, ResizeAgainstReference,
                         ::testing::Combine(::testing::Values(ResizeFilter::area, ResizeFilter::bilinear),
                                            ::testing::Values(1, 7, 28), ::testing::Values(5, 28),
                                            ::testing::Values(3, 14, 64), ::testing::Values(1, 9, 96)));

TEST(ImageResize, BadSizeIsAConfigError) {
  const Image im = make_image(4, 4, 1, 1);
  EXPECT_THROW(resize_image(im, 0, 4, ResizeFilter::area), ConfigError);
  EXPECT_THROW(resize_image(im, 4, -1, ResizeFilter::bilinear), ConfigError);
  EXPECT_THROW(resize_image(im, 4, int64_t{1} << 20, ResizeFilter::bilinear), ConfigError);
  EXPECT_THROW(resize_image(Image{}, 4, 4, ResizeFilter::area), ConfigError);
  try {
    resize_image(im, 0, 4, ResizeFilter::area);
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("found 0"), std::string::npos) << e.what();
  }
}

TEST(ImageChannels, GreyAndRgbBothWays) {
  const Image rgb{1, 2, 3, {255, 0, 0, 10, 20, 30}};
  // 0.299 * 255 = 76.2; 0.299 * 10 + 0.587 * 20 + 0.114 * 30 = 18.15
  EXPECT_EQ(convert_channels(rgb, 1).pixels, (std::vector<uint8_t>{76, 18}));
  const Image grey{1, 2, 1, {7, 200}};
  EXPECT_EQ(convert_channels(grey, 3).pixels, (std::vector<uint8_t>{7, 7, 7, 200, 200, 200}));
  EXPECT_THROW(convert_channels(grey, 2), ConfigError);
}

}  // namespace
}  // namespace convoy
