#include "io/image_aspect.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace convoy {
namespace {

// The window [top, top + h) x [left, left + w) of `input`, positions outside it black.
Image window(const Image& input, int64_t top, int64_t left, int64_t h, int64_t w) {
  const int64_t c = input.channels;
  Image output{h, w, c, std::vector<uint8_t>(static_cast<size_t>(h * w * c), 0)};
  for (int64_t y = 0; y < h; ++y) {
    const int64_t sy = top + y;
    if (sy < 0 || sy >= input.height) continue;
    const int64_t x0 = std::max<int64_t>(0, -left), x1 = std::min(w, input.width - left);
    if (x1 <= x0) continue;
    std::copy_n(input.pixels.data() + (sy * input.width + left + x0) * c, (x1 - x0) * c,
                output.pixels.data() + (y * w + x0) * c);
  }
  return output;
}

}  // namespace

const char* aspect_mode_name(AspectMode mode) {
  switch (mode) {
    case AspectMode::crop: return "crop";
    case AspectMode::pad: return "pad";
    case AspectMode::stretch: break;
  }
  return "stretch";
}

Image fit_aspect(const Image& input, int64_t height, int64_t width, AspectMode mode) {
  CONVOY_CHECK(height > 0 && width > 0, ConfigError, "aspect ratio: expected a positive target size, found ", height,
               "x", width);
  if (mode == AspectMode::stretch) return input;
  const int64_t h = input.height, w = input.width;
  int64_t out_h = 0, out_w = 0;
  if (mode == AspectMode::crop) {
    out_h = std::max<int64_t>(1, std::min(h, w * height / width));
    out_w = std::max<int64_t>(1, std::min(w, h * width / height));
  } else {
    out_h = std::max(h, w * height / width);
    out_w = std::max(w, h * width / height);
  }
  if (out_h == h && out_w == w) return input;
  // Crop windows start inside the image, padding canvases before it (negative offsets).
  return window(input, (h - out_h) / 2, (w - out_w) / 2, out_h, out_w);
}

}  // namespace convoy
