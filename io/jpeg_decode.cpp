// JPEG through libjpeg-turbo; fatal errors come back by longjmp (Note [libpng and libjpeg errors]).
// jpeglib.h needs size_t and FILE declared before it.
#include <cstdio>
#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>
#include <vector>

#include "core/error.hpp"
#include "io/image_decoders.hpp"

namespace convoy {
namespace {

struct JpegState {
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr error{};
  std::jmp_buf jump{};
  char message[JMSG_LENGTH_MAX] = "";
  bool started = false;
  ~JpegState() {
    if (started) jpeg_destroy_decompress(&cinfo);
  }
};

void on_error(j_common_ptr cinfo) {
  auto* s = static_cast<JpegState*>(cinfo->client_data);
  (*cinfo->err->format_message)(cinfo, s->message);
  std::longjmp(s->jump, 1);
}

// A truncated file is only a warning to libjpeg (it pads the rest with grey); here it is an
// error, so a cut-off download is reported instead of trained on. Other warnings pass.
void on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) on_error(cinfo);
}

bool read_header(JpegState* s, std::span<const uint8_t> bytes) {
  if (setjmp(s->jump)) return false;
  jpeg_create_decompress(&s->cinfo);
  s->started = true;
  jpeg_mem_src(&s->cinfo, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&s->cinfo, TRUE);
  return true;
}

bool read_pixels(JpegState* s, uint8_t* pixels, int64_t row_bytes) {
  if (setjmp(s->jump)) return false;
  s->cinfo.out_color_space = s->cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&s->cinfo);
  while (s->cinfo.output_scanline < s->cinfo.output_height) {
    JSAMPROW row = pixels + s->cinfo.output_scanline * row_bytes;
    jpeg_read_scanlines(&s->cinfo, &row, 1);
  }
  jpeg_finish_decompress(&s->cinfo);
  return true;
}

}  // namespace

Image decode_jpeg(std::span<const uint8_t> bytes, const std::string& name, const ImageLimits& limits) {
  JpegState s;
  s.cinfo.err = jpeg_std_error(&s.error);
  s.error.error_exit = on_error;
  s.error.emit_message = on_message;
  s.cinfo.client_data = &s;
  CONVOY_CHECK(read_header(&s, bytes), IoError, "JPEG image '", name, "': expected a valid JPEG header, found: ",
               s.message);
  const auto width = static_cast<int64_t>(s.cinfo.image_width);
  const auto height = static_cast<int64_t>(s.cinfo.image_height);
  check_image_size(height, width, name, limits);
  const int64_t channels = s.cinfo.num_components == 1 ? 1 : 3;
  Image image{height, width, channels, std::vector<uint8_t>(static_cast<size_t>(height * width * channels))};
  CONVOY_CHECK(read_pixels(&s, image.pixels.data(), width * channels), IoError, "JPEG image '", name,
               "': corrupt or truncated data: ", s.message);
  return image;
}

}  // namespace convoy
