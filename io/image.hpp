// Image: an 8-bit picture in memory, rows of pixels with interleaved channels (HWC), grey or RGB.
#pragma once

#include <cstdint>
#include <vector>

namespace convoy {

struct Image {
  int64_t height = 0, width = 0;
  int64_t channels = 0;         // 1 (grey) or 3 (RGB)
  std::vector<uint8_t> pixels;  // [height, width, channels]

  int64_t at(int64_t y, int64_t x, int64_t c) const { return pixels[(y * width + x) * channels + c]; }
};

// The same picture with `channels` channels (1 or 3): grey is repeated into R, G and B; RGB
// becomes grey by the ITU-R 601 luma weights (0.299 R + 0.587 G + 0.114 B, rounded), as PIL's
// "L" mode and libjpeg do. ConfigError for any other channel count.
Image convert_channels(const Image& input, int64_t channels);

}  // namespace convoy
