// Small IDX slices of the real Fashion-MNIST files, written by tests that train end to end.
#pragma once

#include <cstdint>
#include <string>

namespace convoy::testing {

// Copies the first `count` samples of Debian's Fashion-MNIST split ("train" or "t10k") into
// raw IDX files images_path / labels_path.
void write_fashion_mnist_slice(const std::string& split, int64_t count, const std::string& images_path,
                               const std::string& labels_path);

}  // namespace convoy::testing
