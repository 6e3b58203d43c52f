#include "tests/support/image_files.hpp"

#include <png.h>
#include <cstdio>
#include <jpeglib.h>

#include <algorithm>
#include <csetjmp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace convoy::testing {
namespace {

void put16(std::vector<uint8_t>& out, uint32_t v) {
  out.push_back(static_cast<uint8_t>(v));
  out.push_back(static_cast<uint8_t>(v >> 8));
}
void put32(std::vector<uint8_t>& out, uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

// rows: height rows of row_bytes each.
void write_png_rows(const std::string& path, int64_t width, int64_t height, int color_type, int bit_depth,
                    const std::vector<uint8_t>& data, const std::vector<uint8_t>& palette = {}) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot create " + path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    throw std::runtime_error("libpng failed writing " + path);
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<uint32_t>(width), static_cast<uint32_t>(height), bit_depth, color_type,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  std::vector<png_color> colors;
  for (size_t i = 0; i + 2 < palette.size(); i += 3) colors.push_back({palette[i], palette[i + 1], palette[i + 2]});
  if (!colors.empty()) png_set_PLTE(png, info, colors.data(), static_cast<int>(colors.size()));
  png_write_info(png, info);
  const size_t row_bytes = data.size() / static_cast<size_t>(height);
  for (int64_t y = 0; y < height; ++y) png_write_row(png, data.data() + y * row_bytes);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

}  // namespace

void write_png(const std::string& path, const Image& image, bool alpha) {
  std::vector<uint8_t> data;
  for (int64_t p = 0; p < image.height * image.width; ++p) {
    for (int64_t c = 0; c < image.channels; ++c) data.push_back(image.pixels[p * image.channels + c]);
    if (alpha) data.push_back(7);
  }
  const int type = image.channels == 1 ? (alpha ? PNG_COLOR_TYPE_GRAY_ALPHA : PNG_COLOR_TYPE_GRAY)
                                       : (alpha ? PNG_COLOR_TYPE_RGB_ALPHA : PNG_COLOR_TYPE_RGB);
  write_png_rows(path, image.width, image.height, type, 8, data);
}

void write_png16_grey(const std::string& path, const Image& grey) {
  std::vector<uint8_t> data;
  for (uint8_t v : grey.pixels) {
    const uint32_t s = v * 257u + (v == 255 ? 0u : 1u);
    data.push_back(static_cast<uint8_t>(s >> 8));  // PNG samples are big-endian
    data.push_back(static_cast<uint8_t>(s));
  }
  write_png_rows(path, grey.width, grey.height, PNG_COLOR_TYPE_GRAY, 16, data);
}

void write_png_palette(const std::string& path, const Image& indices, const std::vector<uint8_t>& palette) {
  write_png_rows(path, indices.width, indices.height, PNG_COLOR_TYPE_PALETTE, 8, indices.pixels, palette);
}

void write_jpeg(const std::string& path, const Image& image, int quality) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot create " + path);
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr error{};
  cinfo.err = jpeg_std_error(&error);  // test data is well-formed: libjpeg's default exit is fine here
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = static_cast<int>(image.channels);
  cinfo.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  // Full-resolution chroma (4:4:4): decoded colours then depend on each 8x8 block alone.
  cinfo.comp_info[0].h_samp_factor = cinfo.comp_info[0].v_samp_factor = 1;
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(image.pixels.data()) + cinfo.next_scanline * image.width * image.channels;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(f);
}

void write_bmp(const std::string& path, const Image& rgb) {
  const uint32_t row = static_cast<uint32_t>((rgb.width * 3 + 3) / 4 * 4);
  const uint32_t pixels = row * static_cast<uint32_t>(rgb.height);
  std::vector<uint8_t> out = {'B', 'M'};
  put32(out, 54 + pixels);
  put32(out, 0);
  put32(out, 54);
  put32(out, 40);  // BITMAPINFOHEADER
  put32(out, static_cast<uint32_t>(rgb.width));
  put32(out, static_cast<uint32_t>(rgb.height));
  put16(out, 1);
  put16(out, 24);
  for (int i = 0; i < 6; ++i) put32(out, 0);  // no compression, sizes and palette left default
  for (int64_t y = rgb.height - 1; y >= 0; --y) {
    for (int64_t x = 0; x < rgb.width; ++x)
      for (int c = 2; c >= 0; --c) out.push_back(static_cast<uint8_t>(rgb.at(y, x, c)));  // BGR
    for (uint32_t pad = static_cast<uint32_t>(rgb.width * 3); pad < row; ++pad) out.push_back(0);
  }
  write_file(path, out);
}

void write_gif(const std::string& path, const Image& indices, const std::vector<uint8_t>& palette) {
  std::vector<uint8_t> out = {'G', 'I', 'F', '8', '9', 'a'};
  put16(out, static_cast<uint32_t>(indices.width));
  put16(out, static_cast<uint32_t>(indices.height));
  out.insert(out.end(), {0x81, 0, 0});  // global colour table of 2^(1+1) = 4 entries
  for (size_t i = 0; i < 12; ++i) out.push_back(i < palette.size() ? palette[i] : 0);
  out.push_back(0x2c);  // image descriptor
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint32_t>(indices.width));
  put16(out, static_cast<uint32_t>(indices.height));
  out.push_back(0);
  out.push_back(2);  // LZW minimum code size: clear = 4, end = 5, codes of 3 bits
  std::vector<uint8_t> lzw;
  uint32_t bits = 0, count = 0;
  auto emit = [&](uint32_t code) {
    bits |= code << count;
    count += 3;
    while (count >= 8) {
      lzw.push_back(static_cast<uint8_t>(bits));
      bits >>= 8;
      count -= 8;
    }
  };
  for (uint8_t p : indices.pixels) {
    emit(4);
    emit(p);
  }
  emit(5);
  if (count > 0) lzw.push_back(static_cast<uint8_t>(bits));
  for (size_t i = 0; i < lzw.size(); i += 255) {
    const size_t n = std::min<size_t>(255, lzw.size() - i);
    out.push_back(static_cast<uint8_t>(n));
    out.insert(out.end(), lzw.begin() + static_cast<std::ptrdiff_t>(i), lzw.begin() + static_cast<std::ptrdiff_t>(i + n));
  }
  out.push_back(0);
  out.push_back(0x3b);
  write_file(path, out);
}

Image class_picture(int label, int64_t h, int64_t w, int64_t channels, int variant) {
  Image im{h, w, channels, {}};
  uint32_t s = 2654435761u * static_cast<uint32_t>(variant + 1) + static_cast<uint32_t>(label);
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t c = 0; c < channels; ++c) {
        s = s * 1664525u + 1013904223u;
        const int noise = static_cast<int>(s >> 26);  // 0..63
        const int v = label == 0 ? noise : label == 1 ? 192 + noise : ((x / 2) % 2 == 0 ? 10 : 245);
        im.pixels.push_back(static_cast<uint8_t>(v));
      }
  return im;
}

std::vector<std::string> write_three_class_folder(const std::string& root, int per_class, int first) {
  namespace fs = std::filesystem;
  const char* classes[3] = {"a dark", "b bright", "c stripes"};
  std::vector<std::string> paths;
  for (int label = 0; label < 3; ++label) {
    fs::create_directories(fs::path(root) / classes[label] / "sub dir");
    for (int i = first; i < first + per_class; ++i) {
      const int64_t h = 11 + (i * 5) % 13, w = 9 + (i * 7) % 17;
      const Image im = class_picture(label, h, w, i % 2 == 0 ? 3 : 1, i);
      const fs::path class_folder = fs::path(root) / classes[label];
      const std::string folder = (i % 3 == 2 ? class_folder / "sub dir" : class_folder).string();
      const std::string stem = folder + "/img " + std::to_string(1000 + i);
      if (i % 4 == 3) {
        paths.push_back(stem + ".bmp");
        write_bmp(paths.back(), convert_channels(im, 3));
      } else if (i % 2 == 0) {
        paths.push_back(stem + ".png");
        write_png(paths.back(), im);
      } else {
        paths.push_back(stem + ".JPG");
        write_jpeg(paths.back(), im, 95);
      }
    }
  }
  write_file((fs::path(root) / classes[0] / "README.txt").string(), {'n', 'o'});
  write_png((fs::path(root) / "loose.png").string(), class_picture(0, 4, 4, 1, 0));
  std::vector<std::string> sorted;
  for (int label = 0; label < 3; ++label) {
    std::vector<std::string> part;
    for (const std::string& p : paths)
      if (p.find(classes[label]) != std::string::npos) part.push_back(p);
    std::sort(part.begin(), part.end());
    sorted.insert(sorted.end(), part.begin(), part.end());
  }
  return sorted;
}

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace convoy::testing
