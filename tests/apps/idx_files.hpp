// Small IDX files written by tests: hand-made samples, or a Fashion-MNIST slice with its labels
// filtered or changed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace convoy::testing {

// Writes `images` (n samples of height x width bytes, row-major) and `labels` as raw IDX files.
void write_idx(const std::string& images_path, const std::string& labels_path, int64_t height, int64_t width,
               const std::vector<uint8_t>& images, const std::vector<uint8_t>& labels);

// Reads raw IDX files as write_idx writes them; `height` and `width` from the header.
void read_idx(const std::string& images_path, const std::string& labels_path, int64_t& height, int64_t& width,
              std::vector<uint8_t>& images, std::vector<uint8_t>& labels);

// Rewrites raw IDX files keeping the samples `keep(label)` accepts, with labels mapped by `relabel`.
void filter_idx(const std::string& images_path, const std::string& labels_path,
                const std::function<bool(uint8_t)>& keep, const std::function<uint8_t(uint8_t)>& relabel);

}  // namespace convoy::testing
