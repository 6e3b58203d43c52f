// BMP and GIF through stb_image (only those two decoders compiled in, no file I/O of its own).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_BMP
#define STBI_ONLY_GIF
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#include <stb/stb_image.h>

#include <cstring>
#include <memory>

#include "core/error.hpp"
#include "io/image_decoders.hpp"

namespace convoy {
namespace {

// stb reads past the end of a short buffer as zeros, so a BMP cut short would decode as a
// picture with a black bottom; its header states the file size, which is checked instead.
void check_bmp_length(std::span<const uint8_t> bytes, const std::string& name) {
  const uint32_t declared = bytes[2] | (bytes[3] << 8) | (bytes[4] << 16) | (uint32_t{bytes[5]} << 24);
  CONVOY_CHECK(declared == 0 || bytes.size() >= declared, IoError, "BMP image '", name, "': header declares ",
               declared, " bytes, found ", bytes.size(), " (truncated)");
}

}  // namespace

Image decode_with_stb(std::span<const uint8_t> bytes, const std::string& name, const ImageLimits& limits) {
  const bool bmp = bytes[0] == 'B';
  const char* kind = bmp ? "BMP" : "GIF";
  if (bmp) check_bmp_length(bytes, name);
  const int size = static_cast<int>(std::min<size_t>(bytes.size(), INT32_MAX));
  int width = 0, height = 0, components = 0;
  CONVOY_CHECK(stbi_info_from_memory(bytes.data(), size, &width, &height, &components), IoError, kind, " image '",
               name, "': expected a valid header, found: ", stbi_failure_reason());
  check_image_size(height, width, name, limits);
  // stb reports GIF as 4 components whatever the palette holds; grey means 1 or 2 (grey + alpha).
  const int channels = components <= 2 ? 1 : 3;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(bytes.data(), size, &width, &height, &components, channels), stbi_image_free);
  CONVOY_CHECK(pixels != nullptr, IoError, kind, " image '", name, "': corrupt or truncated data: ",
               stbi_failure_reason());
  Image image{height, width, channels, {}};
  image.pixels.assign(pixels.get(), pixels.get() + static_cast<size_t>(height) * width * channels);
  return image;
}

}  // namespace convoy
