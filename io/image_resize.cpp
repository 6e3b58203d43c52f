#include "io/image_resize.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace convoy {
namespace {

constexpr int64_t kMaxSide = int64_t{1} << 15;

// Weights of output pixel x (Note [Resize filters]), before normalisation, in double.
std::vector<double> raw_weights(int64_t x, int64_t in_size, double scale, ResizeFilter filter, int64_t& first) {
  const double begin = x * scale, end = (x + 1) * scale, centre = (x + 0.5) * scale;
  const double radius = filter == ResizeFilter::area ? 0.0 : std::max(scale, 1.0);
  const double lo = filter == ResizeFilter::area ? begin : centre - radius;
  const double hi = filter == ResizeFilter::area ? end : centre + radius;
  first = std::clamp<int64_t>(static_cast<int64_t>(std::floor(lo)), 0, in_size - 1);
  const int64_t last = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(hi)), first + 1, in_size);
  std::vector<double> w;
  for (int64_t i = first; i < last; ++i) {
    if (filter == ResizeFilter::area) {
      w.push_back(std::max(0.0, std::min(end, i + 1.0) - std::max(begin, static_cast<double>(i))));
    } else {
      w.push_back(std::max(0.0, 1.0 - std::abs(i + 0.5 - centre) / radius));
    }
  }
  return w;
}

void check_size(int64_t size, const char* what) {
  CONVOY_CHECK(size >= 1 && size <= kMaxSide, ConfigError, "resize: expected an output ", what, " in [1, ", kMaxSide,
               "], found ", size);
}

}  // namespace

const char* resize_filter_name(ResizeFilter filter) {
  return filter == ResizeFilter::area ? "area" : "bilinear";
}

ResizeWeights resize_weights(int64_t in_size, int64_t out_size, ResizeFilter filter) {
  ResizeWeights r;
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  for (int64_t x = 0; x < out_size; ++x) {
    int64_t first = 0;
    std::vector<double> w = raw_weights(x, in_size, scale, filter, first);
    // Enlarging with a triangle near an edge can leave only zero weights: fall back to the nearest pixel.
    double sum = 0.0;
    for (double v : w) sum += v;
    if (sum <= 0.0) {
      w.assign(1, 1.0);
      sum = 1.0;
      first = std::clamp<int64_t>(static_cast<int64_t>((x + 0.5) * scale), 0, in_size - 1);
    }
    std::vector<float> normalised;
    for (double v : w) normalised.push_back(static_cast<float>(v / sum));
    r.first.push_back(first);
    r.weights.push_back(std::move(normalised));
  }
  return r;
}

Image resize_image(const Image& input, int64_t height, int64_t width, ResizeFilter filter) {
  check_size(height, "height");
  check_size(width, "width");
  CONVOY_CHECK(input.height > 0 && input.width > 0 && input.channels > 0, ConfigError,
               "resize: expected a non-empty input image, found ", input.height, "x", input.width, "x", input.channels);
  const int64_t c = input.channels;
  const ResizeWeights wx = resize_weights(input.width, width, filter);
  const ResizeWeights wy = resize_weights(input.height, height, filter);
  // rows: [input.height, width, c] in float, so the second pass rounds once.
  std::vector<float> rows(static_cast<size_t>(input.height * width * c));
  for (int64_t y = 0; y < input.height; ++y) {
    const uint8_t* in = input.pixels.data() + y * input.width * c;
    float* out = rows.data() + y * width * c;
    for (int64_t x = 0; x < width; ++x) {
      const std::vector<float>& w = wx.weights[x];
      for (int64_t k = 0; k < c; ++k) {
        float sum = 0.0f;
        for (size_t i = 0; i < w.size(); ++i) sum += w[i] * in[(wx.first[x] + static_cast<int64_t>(i)) * c + k];
        out[x * c + k] = sum;
      }
    }
  }
  Image output{height, width, c, std::vector<uint8_t>(static_cast<size_t>(height * width * c))};
  const int64_t row = width * c;
  for (int64_t y = 0; y < height; ++y) {
    const std::vector<float>& w = wy.weights[y];
    uint8_t* out = output.pixels.data() + y * row;
    for (int64_t j = 0; j < row; ++j) {
      float sum = 0.0f;
      for (size_t i = 0; i < w.size(); ++i) sum += w[i] * rows[(wy.first[y] + static_cast<int64_t>(i)) * row + j];
      out[j] = static_cast<uint8_t>(std::clamp(std::floor(sum + 0.5f), 0.0f, 255.0f));
    }
  }
  return output;
}

}  // namespace convoy
