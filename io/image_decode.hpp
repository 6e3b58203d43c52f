// Decoding image files (PNG, JPEG, BMP, GIF) into an Image; the format is known from its magic bytes.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "io/image.hpp"

namespace convoy {

enum class ImageFormat { unknown, png, jpeg, bmp, gif };

// From the first bytes: 89 'PNG', FF D8 FF, 'BM', 'GIF8'. Anything else is unknown.
ImageFormat sniff_image_format(std::span<const uint8_t> bytes);

// Checked against the size a file declares in its header, before any pixel is decoded, so a
// small malicious file cannot make the decoder allocate gigabytes.
struct ImageLimits {
  int64_t max_side = int64_t{1} << 14;
  int64_t max_pixels = int64_t{1} << 26;
};

// Decodes a whole file held in memory. Grey files (with or without alpha) give 1 channel, every
// other kind 3: palettes are expanded, alpha is dropped, 16-bit samples keep their high byte.
// GIF gives its first frame. PNG is read with libpng, JPEG with libjpeg-turbo, BMP and GIF with
// stb_image. Throws IoError naming `name`: an unknown format, a size over `limits`, corrupt or
// truncated data (libjpeg's "premature end" is an error here, not the warning it is there).
Image decode_image(std::span<const uint8_t> bytes, const std::string& name, const ImageLimits& limits = {});

// Reads the file at `path` and decodes it; IoError naming the path if it cannot be read or is empty.
Image read_image_file(const std::string& path, const ImageLimits& limits = {});

}  // namespace convoy
