// libFuzzer target: the image decoder on arbitrary bytes must decode or throw IoError, within the limits.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "io/image_decode.hpp"

// Small limits keep each run fast and let the fuzzer reach the size check; the first byte picks
// the format's magic, so every decoder is reached without the fuzzer having to find them.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const uint8_t magics[4][8] = {{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'},
                                       {0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J', 'F'},
                                       {'B', 'M', 0, 0, 0, 0, 0, 0},
                                       {'G', 'I', 'F', '8', '9', 'a', 0, 0}};
  std::vector<uint8_t> bytes;
  const int choice = data[0] & 7;
  if (choice < 4) bytes.assign(magics[choice], magics[choice] + 8);
  bytes.insert(bytes.end(), data + 1, data + size);
  const convoy::ImageLimits limits{.max_side = 512, .max_pixels = 1 << 16};
  try {
    const convoy::Image image = convoy::decode_image(bytes, "fuzz input", limits);
    if (image.height * image.width > limits.max_pixels ||
        static_cast<int64_t>(image.pixels.size()) != image.height * image.width * image.channels)
      __builtin_trap();
  } catch (const convoy::IoError&) {
  }
  return 0;
}
