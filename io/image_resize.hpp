// Resizing 8-bit HWC images: area averaging and antialiased bilinear, one axis at a time.
#pragma once

#include <cstdint>
#include <vector>

#include "io/image.hpp"

namespace convoy {

// Note [Resize filters]
// Both filters give each output pixel a normalised weighted sum of input pixels, per axis
// (separable: rows first into a float buffer, then columns; rounded half up once at the end).
// Output pixel x covers input coordinates [x s, (x + 1) s) with s = in / out, centre (x + 0.5) s.
// - area: the weight of input pixel i is the length of [i, i + 1) inside that span. Shrinking by
//   an integer factor k gives the exact mean of each k x k block; on enlarging, a pixel copies its
//   source or blends the two it straddles.
// - bilinear: a triangle of radius max(s, 1) around the centre, evaluated at input centres
//   i + 0.5 (PIL's antialiased bilinear). Enlarging it is plain bilinear interpolation with the
//   edges clamped; shrinking widens the triangle so every input pixel contributes (no aliasing).
enum class ResizeFilter { area, bilinear };

// The weights of one axis: output pixel x reads input pixels first[x] .. first[x] +
// weights[x].size() - 1 with those weights (summing to 1). Exposed for tests.
struct ResizeWeights {
  std::vector<int64_t> first;
  std::vector<std::vector<float>> weights;
};
ResizeWeights resize_weights(int64_t in_size, int64_t out_size, ResizeFilter filter);

// "area" or "bilinear": the name an import records (attribute `resize_filter` on /images).
const char* resize_filter_name(ResizeFilter filter);

// A target size for importers; height = width = 0 keeps the input's size.
struct ResizeTarget {
  int64_t height = 0, width = 0;
  ResizeFilter filter = ResizeFilter::bilinear;
  bool active() const { return height > 0 || width > 0; }
};

// input resized to height x width (same channels). ConfigError for a size below 1 or above
// 2^15 per side, or an empty input.
Image resize_image(const Image& input, int64_t height, int64_t width, ResizeFilter filter);

}  // namespace convoy
