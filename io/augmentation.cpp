#include "io/augmentation.hpp"

#include <algorithm>
#include <charconv>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace convoy {

Augmentation Augmentation::parse(const std::string& text) {
  Augmentation a;
  if (text.empty() || text == "none") return a;
  for (size_t start = 0; start <= text.size();) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    start = comma + 1;
    if (item == "flip") {
      a.flip = true;
      continue;
    }
    const std::string expected = "' in '" + text + "': expected flip or crop:P with P in [1, 1024]";
    CONVOY_CHECK(item.starts_with("crop:") || item.starts_with("crop="), ConfigError, "augmentation '", item,
                 expected);
    int64_t padding = 0;
    const char* first = item.data() + 5;
    const char* last = item.data() + item.size();
    const auto [end, err] = std::from_chars(first, last, padding);
    CONVOY_CHECK(first != last && err == std::errc() && end == last && padding >= 1 && padding <= 1024, ConfigError,
                 "augmentation '", item, expected);
    a.crop_padding = padding;
  }
  return a;
}

std::string Augmentation::str() const {
  if (!active()) return "none";
  std::string s = flip ? "flip" : "";
  if (crop_padding > 0) s += (s.empty() ? "crop:" : ",crop:") + std::to_string(crop_padding);
  return s;
}

// sample [C, H, W]: out(y, x) = in(y + dy - P, x' + dx - P) where x' = W-1-x when flipped, and 0
// outside the input; one row at a time through `scratch` [W], rows visited in the order that
// never reads a row already overwritten (downwards when the source is below, else upwards).
void Augmentation::apply(float* sample_chw, int64_t channels, int64_t height, int64_t width, uint64_t seed,
                         int64_t epoch, int64_t index, float* scratch) const {
  if (!active()) return;
  const int64_t p = crop_padding;
  CONVOY_CHECK(p < height && p < width, ConfigError, "augmentation crop:", p, ": expected a padding below the ",
               height, "x", width, " samples");
  const uint64_t bits =
      random_bits(seed, RandomPurpose::augment, static_cast<uint64_t>(epoch), static_cast<uint64_t>(index));
  const bool mirror = flip && (bits & 1) != 0;
  const int64_t span = 2 * p + 1;
  const int64_t dy = p > 0 ? static_cast<int64_t>((bits >> 8) % static_cast<uint64_t>(span)) - p : 0;
  const int64_t dx = p > 0 ? static_cast<int64_t>((bits >> 32) % static_cast<uint64_t>(span)) - p : 0;
  if (!mirror && dy == 0 && dx == 0) return;
  for (int64_t c = 0; c < channels; ++c) {
    float* plane = sample_chw + c * height * width;
    for (int64_t k = 0; k < height; ++k) {
      const int64_t y = dy >= 0 ? k : height - 1 - k;  // source row y + dy is not yet overwritten
      float* row = plane + y * width;
      const int64_t sy = y + dy;
      if (sy < 0 || sy >= height) {
        std::fill(row, row + width, 0.0f);
        continue;
      }
      const float* src = plane + sy * width;
      for (int64_t x = 0; x < width; ++x) {
        const int64_t sx = (mirror ? width - 1 - x : x) + dx;
        scratch[x] = sx >= 0 && sx < width ? src[sx] : 0.0f;
      }
      std::copy(scratch, scratch + width, row);
    }
  }
}

}  // namespace convoy
