// Conversion of an IDX image/label file pair (MNIST, Fashion-MNIST) into Convoy's HDF5 dataset.
#pragma once

#include <string>
#include <vector>

#include "io/hdf5_dataset_writer.hpp"
#include "io/hdf5_dataset.hpp"
#include "io/image_aspect.hpp"
#include "io/image_resize.hpp"

namespace convoy {

// Reads images [N, H, W] and labels [N] (raw or gzip IDX) and writes out_h5 with /images
// [N, H, W, 1] uint8, /labels [N] int32 and class_names (omitted when empty; callers pick them,
// e.g. fashion_mnist_class_names() from io/class_names.hpp), and the `mean` and `std` attributes
// on /images an image import writes (Note [Normalisation]). With an active `resize` each image
// is resized to it (blocks of samples on all OpenMP threads, streamed to the file) and the
// filter is recorded (attributes `resize_filter`, `aspect` = "stretch"). Throws
// IoError naming both files when the counts differ, ConfigError when a label has no class name.
void convert_idx_to_hdf5(const std::string& images_idx, const std::string& labels_idx, const std::string& out_h5,
                         std::vector<std::string> class_names, const Hdf5WriteOptions& options = {},
                         const ResizeTarget& resize = {});

}  // namespace convoy
