#include "io/image_decode.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "core/error.hpp"
#include "io/image_decoders.hpp"

namespace convoy {

ImageFormat sniff_image_format(std::span<const uint8_t> b) {
  auto starts = [&](std::initializer_list<uint8_t> magic) {
    return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
  };
  if (starts({0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'})) return ImageFormat::png;
  if (starts({0xff, 0xd8, 0xff})) return ImageFormat::jpeg;
  if (starts({'G', 'I', 'F', '8'})) return ImageFormat::gif;
  if (starts({'B', 'M'}) && b.size() >= 26) return ImageFormat::bmp;
  return ImageFormat::unknown;
}

void check_image_size(int64_t height, int64_t width, const std::string& name, const ImageLimits& limits) {
  CONVOY_CHECK(height >= 1 && width >= 1, IoError, "image '", name, "': expected a positive size, found ", width,
               "x", height);
  CONVOY_CHECK(height <= limits.max_side && width <= limits.max_side && height * width <= limits.max_pixels,
               IoError, "image '", name, "': declares ", width, "x", height, " pixels, expected at most ",
               limits.max_side, " a side and ", limits.max_pixels, " in all");
}

Image decode_image(std::span<const uint8_t> bytes, const std::string& name, const ImageLimits& limits) {
  switch (sniff_image_format(bytes)) {
    case ImageFormat::png: return decode_png(bytes, name, limits);
    case ImageFormat::jpeg: return decode_jpeg(bytes, name, limits);
    case ImageFormat::bmp:
    case ImageFormat::gif: return decode_with_stb(bytes, name, limits);
    case ImageFormat::unknown: break;
  }
  const size_t shown = std::min<size_t>(bytes.size(), 4);
  std::string hex;
  for (size_t i = 0; i < shown; ++i) {
    static const char* digits = "0123456789abcdef";
    hex += std::string(i ? " " : "") + digits[bytes[i] >> 4] + digits[bytes[i] & 15];
  }
  throw IoError(detail::concat("image '", name, "': expected a PNG, JPEG, BMP or GIF file, found ",
                               bytes.empty() ? std::string("no bytes") : "bytes " + hex));
}

Image read_image_file(const std::string& path, const ImageLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  CONVOY_CHECK(in.good(), IoError, "image '", path, "': cannot open it: ", std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CONVOY_CHECK(!in.bad(), IoError, "image '", path, "': read failed: ", std::strerror(errno));
  CONVOY_CHECK(!bytes.empty(), IoError, "image '", path, "': expected an image, found an empty file (0 bytes)");
  return decode_image(bytes, path, limits);
}

}  // namespace convoy
