// Writing small image files (PNG, JPEG, BMP, GIF) for tests, through libpng and libjpeg or by hand.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/image.hpp"

namespace convoy::testing {

// 8-bit grey or RGB, as the image holds; with `alpha` an opaque-looking alpha channel of 7 is
// added (the decoder must drop it).
void write_png(const std::string& path, const Image& image, bool alpha = false);
// 16-bit grey: each sample is value * 257 + 1 (the decoder keeps the high byte: value).
void write_png16_grey(const std::string& path, const Image& grey);
// Palette PNG: pixel values are indices into `palette` (RGB triples).
void write_png_palette(const std::string& path, const Image& indices, const std::vector<uint8_t>& palette);
void write_jpeg(const std::string& path, const Image& image, int quality = 95);
// Uncompressed 24-bit BMP (bottom-up rows padded to 4 bytes).
void write_bmp(const std::string& path, const Image& rgb);
// GIF with a 4-colour global palette; pixel values are indices 0..3. LZW codes are all literals,
// each after a clear code, so the code size stays at 3 bits.
void write_gif(const std::string& path, const Image& indices, const std::vector<uint8_t>& palette);

// One picture of class 0 (dark noise), 1 (bright noise) or 2 (vertical black and white stripes
// 2 pixels wide), h x w with `channels` channels; `variant` changes the noise.
Image class_picture(int label, int64_t h, int64_t w, int64_t channels, int variant);

// A folder of images for import tests: class folders "a dark", "b bright", "c stripes" (labels
// 0, 1, 2) with `per_class` files each, numbered from `first`: odd sizes, grey and colour, PNG and
// JPEG alternating (every fourth a BMP), every third in a nested folder "sub dir", names with
// spaces. Also a README.txt in a class folder and a picture in the root, both not part of the
// dataset. Returns the image paths written, in listing order.
std::vector<std::string> write_three_class_folder(const std::string& root, int per_class, int first = 0);

void write_file(const std::string& path, const std::vector<uint8_t>& bytes);
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace convoy::testing
