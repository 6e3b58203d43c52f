// Reader for IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convoy {

// An IDX array of unsigned bytes: dims as stored (e.g. {60000, 28, 28}), data row-major.
struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Reads an IDX file of element type uint8 (magic 00 00 08 <rank>). A file starting with the gzip
// magic 1f 8b is decompressed on the fly, any other is read as is. Checks that the data length
// equals the product of the dimensions. Throws IoError naming the file, what was expected and
// what was found (missing file, bad magic, unsupported element type, truncated or overlong data).
IdxArray read_idx(const std::string& path);

// read_idx, also checking the rank: 3 [N, H, W] for images, 1 [N] for labels.
IdxArray read_idx_images(const std::string& path);
IdxArray read_idx_labels(const std::string& path);

}  // namespace convoy
