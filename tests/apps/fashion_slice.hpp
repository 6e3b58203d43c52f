// Small IDX slices of the real Fashion-MNIST files, written by tests that train end to end.
#pragma once

#include <cstdint>
#include <string>

namespace convoy::testing {

// Copies the first `count` samples of Debian's Fashion-MNIST split ("train" or "t10k") into
// raw IDX files images_path / labels_path.
void write_fashion_mnist_slice(const std::string& split, int64_t count, const std::string& images_path,
                               const std::string& labels_path);

// The same slice as a Convoy HDF5 dataset at h5_path, made by `convoy convert idx` with the
// class names fashion-mnist; the IDX files stay beside it (h5_path + ".images" and ".labels").
// Throws with convert's output if it fails.
void write_fashion_mnist_h5(const std::string& split, int64_t count, const std::string& h5_path);

}  // namespace convoy::testing
