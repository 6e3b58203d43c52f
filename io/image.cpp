#include "io/image.hpp"

#include "core/error.hpp"

namespace convoy {

Image convert_channels(const Image& input, int64_t channels) {
  CONVOY_CHECK(channels == 1 || channels == 3, ConfigError, "image channels: expected 1 or 3, found ", channels);
  CONVOY_CHECK(input.channels == 1 || input.channels == 3, ConfigError,
               "image channels: expected an input with 1 or 3, found ", input.channels);
  if (input.channels == channels) return input;
  Image output{input.height, input.width, channels, {}};
  const int64_t pixels = input.height * input.width;
  output.pixels.resize(static_cast<size_t>(pixels * channels));
  const uint8_t* in = input.pixels.data();
  uint8_t* out = output.pixels.data();
  for (int64_t p = 0; p < pixels; ++p) {
    if (channels == 3) {
      out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = in[p];
    } else {
      // Integer weights summing to 1000, rounded half up: no float drift between machines.
      out[p] = static_cast<uint8_t>((299 * in[3 * p] + 587 * in[3 * p + 1] + 114 * in[3 * p + 2] + 500) / 1000);
    }
  }
  return output;
}

}  // namespace convoy
