#include "tests/apps/idx_files.hpp"

#include <fstream>
#include <stdexcept>

namespace convoy::testing {
namespace {

void put_u32(std::ofstream& out, uint32_t v) {
  const char bytes[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                         static_cast<char>(v)};
  out.write(bytes, 4);
}

uint32_t get_u32(std::ifstream& in) {
  unsigned char b[4] = {};
  in.read(reinterpret_cast<char*>(b), 4);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

}  // namespace

void write_idx(const std::string& images_path, const std::string& labels_path, int64_t height, int64_t width,
               const std::vector<uint8_t>& images, const std::vector<uint8_t>& labels) {
  std::ofstream img(images_path, std::ios::binary), lab(labels_path, std::ios::binary);
  put_u32(img, 0x803);
  put_u32(img, static_cast<uint32_t>(labels.size()));
  put_u32(img, static_cast<uint32_t>(height));
  put_u32(img, static_cast<uint32_t>(width));
  img.write(reinterpret_cast<const char*>(images.data()), static_cast<std::streamsize>(images.size()));
  put_u32(lab, 0x801);
  put_u32(lab, static_cast<uint32_t>(labels.size()));
  lab.write(reinterpret_cast<const char*>(labels.data()), static_cast<std::streamsize>(labels.size()));
  if (!img || !lab) throw std::runtime_error("cannot write " + images_path + " or " + labels_path);
}

void read_idx(const std::string& images_path, const std::string& labels_path, int64_t& height, int64_t& width,
              std::vector<uint8_t>& images, std::vector<uint8_t>& labels) {
  std::ifstream img(images_path, std::ios::binary), lab(labels_path, std::ios::binary);
  if (get_u32(img) != 0x803 || get_u32(lab) != 0x801) throw std::runtime_error("not raw IDX: " + images_path);
  const uint32_t n = get_u32(img);
  height = get_u32(img);
  width = get_u32(img);
  if (get_u32(lab) != n) throw std::runtime_error("IDX counts differ: " + labels_path);
  images.resize(static_cast<size_t>(n * height * width));
  labels.resize(n);
  img.read(reinterpret_cast<char*>(images.data()), static_cast<std::streamsize>(images.size()));
  lab.read(reinterpret_cast<char*>(labels.data()), static_cast<std::streamsize>(labels.size()));
  if (!img || !lab) throw std::runtime_error("truncated IDX: " + images_path);
}

void filter_idx(const std::string& images_path, const std::string& labels_path,
                const std::function<bool(uint8_t)>& keep, const std::function<uint8_t(uint8_t)>& relabel) {
  int64_t h = 0, w = 0;
  std::vector<uint8_t> images, labels, kept_images, kept_labels;
  read_idx(images_path, labels_path, h, w, images, labels);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!keep(labels[i])) continue;
    kept_images.insert(kept_images.end(), images.begin() + static_cast<int64_t>(i) * h * w,
                       images.begin() + static_cast<int64_t>(i + 1) * h * w);
    kept_labels.push_back(relabel(labels[i]));
  }
  write_idx(images_path, labels_path, h, w, kept_images, kept_labels);
}

}  // namespace convoy::testing
