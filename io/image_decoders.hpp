// The per-library decoders behind decode_image (io/image_decode.hpp); internal to io.
#pragma once

#include <span>
#include <string>

#include "io/image_decode.hpp"

namespace convoy {

// IoError naming `name` if the declared size is empty or over `limits`.
void check_image_size(int64_t height, int64_t width, const std::string& name, const ImageLimits& limits);

Image decode_png(std::span<const uint8_t> bytes, const std::string& name, const ImageLimits& limits);
Image decode_jpeg(std::span<const uint8_t> bytes, const std::string& name, const ImageLimits& limits);
// BMP and GIF (first frame).
Image decode_with_stb(std::span<const uint8_t> bytes, const std::string& name, const ImageLimits& limits);

}  // namespace convoy
