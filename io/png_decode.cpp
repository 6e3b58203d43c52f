// PNG through libpng's low-level API (the simplified API treats 16-bit files as linear light and
// would re-encode their values; here 16-bit samples just keep their high byte).
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "io/image_decoders.hpp"

namespace convoy {
namespace {

// Note [libpng and libjpeg errors]
// Both libraries report a fatal error by longjmp to a setjmp the caller set. A longjmp must not
// skip C++ destructors, and locals changed after setjmp are indeterminate after it, so each
// setjmp sits in a small function that owns nothing: the state lives in a struct the caller
// owns and reaches through an unchanging pointer, and the caller frees it normally either way.
struct PngState {
  std::span<const uint8_t> bytes;
  size_t position = 0;
  char message[200] = "";
  png_structp png = nullptr;
  png_infop info = nullptr;
  ~PngState() { png_destroy_read_struct(&png, &info, nullptr); }
};

void read_bytes(png_structp png, png_bytep out, size_t count) {
  auto* s = static_cast<PngState*>(png_get_io_ptr(png));
  if (count > s->bytes.size() - s->position) png_error(png, "unexpected end of data: the file is truncated");
  std::memcpy(out, s->bytes.data() + s->position, count);
  s->position += count;
}

void on_error(png_structp png, png_const_charp message) {
  auto* s = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(s->message, sizeof(s->message), "%s", message);
  png_longjmp(png, 1);
}

void on_warning(png_structp, png_const_charp) {}  // benign (e.g. a bad gamma chunk); errors are fatal

// Reads the header and sets transforms to 8-bit grey or RGB without alpha. False on error.
bool read_header(PngState* s) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_set_read_fn(s->png, s, read_bytes);
  png_read_info(s->png, s->info);
  png_set_strip_16(s->png);
  png_set_strip_alpha(s->png);
  png_set_packing(s->png);
  const int type = png_get_color_type(s->png, s->info);
  if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s->png);
  if (type == PNG_COLOR_TYPE_GRAY) png_set_expand_gray_1_2_4_to_8(s->png);
  png_set_interlace_handling(s->png);
  png_read_update_info(s->png, s->info);
  return true;
}

bool read_pixels(PngState* s, png_bytep* rows) {
  if (setjmp(png_jmpbuf(s->png))) return false;
  png_read_image(s->png, rows);
  png_read_end(s->png, nullptr);
  return true;
}

}  // namespace

Image decode_png(std::span<const uint8_t> bytes, const std::string& name, const ImageLimits& limits) {
  PngState s;
  s.bytes = bytes;
  s.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
  CONVOY_CHECK(s.png != nullptr, IoError, "PNG image '", name, "': libpng could not start (out of memory)");
  s.info = png_create_info_struct(s.png);
  CONVOY_CHECK(s.info != nullptr, IoError, "PNG image '", name, "': libpng could not start (out of memory)");
  CONVOY_CHECK(read_header(&s), IoError, "PNG image '", name, "': expected a valid PNG header, found: ", s.message);
  // Reading the header allocates nothing per pixel; the limits are checked before the rows are.
  const auto width = static_cast<int64_t>(png_get_image_width(s.png, s.info));
  const auto height = static_cast<int64_t>(png_get_image_height(s.png, s.info));
  check_image_size(height, width, name, limits);
  const int64_t channels = png_get_channels(s.png, s.info);
  CONVOY_CHECK(channels == 1 || channels == 3, IoError, "PNG image '", name,
               "': expected 1 or 3 channels after conversion, found ", channels);
  CONVOY_CHECK(static_cast<int64_t>(png_get_rowbytes(s.png, s.info)) == width * channels, IoError, "PNG image '",
               name, "': unexpected row size after conversion to 8 bits");
  Image image{height, width, channels, std::vector<uint8_t>(static_cast<size_t>(height * width * channels))};
  std::vector<png_bytep> rows(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) rows[y] = image.pixels.data() + y * width * channels;
  CONVOY_CHECK(read_pixels(&s, rows.data()), IoError, "PNG image '", name, "': corrupt or truncated pixel data: ",
               s.message);
  return image;
}

}  // namespace convoy
