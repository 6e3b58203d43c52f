// Importing a folder of images into Convoy's HDF5 layout: decoded on all threads, streamed in blocks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "io/image_aspect.hpp"
#include "io/image_decode.hpp"
#include "io/image_folder.hpp"
#include "io/image_resize.hpp"

namespace convoy {

struct ImageImportOptions {
  std::string output;                 // the training file
  std::string val_output;             // the validation file, needed when val_split > 0
  double val_split = 0.0;             // fraction of the files for validation (validation_split())
  uint64_t seed = 0;                  // of the split
  int64_t height = 0, width = 0;      // of every stored image, > 0
  int64_t channels = 3;               // 1 (grey) or 3 (RGB)
  AspectMode aspect = AspectMode::stretch;
  ResizeFilter filter = ResizeFilter::bilinear;
  bool skip_bad = false;              // leave bad files out instead of failing
  int threads = 1;                    // decoding threads (OpenMP)
  int64_t block = 256;                // files decoded per round: memory is one block of images
  ImageLimits limits;
  std::function<void(int64_t done, int64_t total)> progress;  // after each block, on the calling thread
};

struct ImageImportReport {
  int64_t train = 0, validation = 0;  // images written to each file
  std::vector<std::string> bad;       // one error message per bad file (it names the path), in listing order
  std::vector<float> mean, std;       // per channel over the training images, in [0, 1] units
};

// Decodes, converts to `channels`, fits the aspect and resizes every file of `folder`, and writes
// the training (and validation) images in listing order, `block` files at a time, with labels,
// class names, and `mean` and `std` attributes on /images (each file its own, per channel, over
// the values as stored divided by 255). Both files are built under temporary names and renamed
// only when the import succeeded; a validation file is renamed first and removed again if the
// training file's rename fails, so the two appear together or not at all.
// Bad files (unreadable, empty, truncated, corrupt, not an image, over the limits): with
// skip_bad they are left out and listed in the report; without it the import still decodes
// every file, then throws IoError listing them all, and writes nothing. Also IoError if no image
// is left for a file, ConfigError for bad options.
ImageImportReport import_image_folder(const ImageFolder& folder, const ImageImportOptions& options);

// One image as the importer stores it: `channels`, then the aspect, then resized to height x width.
Image prepare_image(const Image& decoded, int64_t height, int64_t width, int64_t channels, AspectMode aspect,
                    ResizeFilter filter);

}  // namespace convoy
