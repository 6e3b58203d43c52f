// The HDF5 dataset format's writer: /images [N,H,W,C] uint8 chunked along N, /labels [N], class_names.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace convoy {

struct Hdf5WriteOptions {
  // 0 = no compression (the default: reads are then a plain copy); 1..9 = deflate level.
  int deflate_level = 0;
};

// Writes a dataset in pieces: append() samples in order, then commit(). The file is built as
// atomic_temp_path(path) (".<name>.tmp-<pid>" beside it) and renamed onto `path` by commit(), so a crash never leaves a half-written
// dataset under the real name; destroying an uncommitted writer deletes the temporary file.
class Hdf5DatasetWriter {
 public:
  // dims_nhwc = {N, H, W, C}, all > 0. class_names may be empty; if not, labels must be in
  // [0, class_names.size()).
  Hdf5DatasetWriter(const std::string& path, const std::array<int64_t, 4>& dims_nhwc,
                    const std::vector<std::string>& class_names, const Hdf5WriteOptions& options = {});
  Hdf5DatasetWriter(const Hdf5DatasetWriter&) = delete;
  Hdf5DatasetWriter& operator=(const Hdf5DatasetWriter&) = delete;
  ~Hdf5DatasetWriter();

  // Appends `count` samples: images [count, H, W, C] uint8, labels [count]. A label outside
  // the classes is a ConfigError; more samples than N, or an append after commit, the caller's
  // bug (InternalError), as are the misuses of shrink and commit below.
  void append(int64_t count, const uint8_t* images_nhwc, const int32_t* labels);
  // Lowers N to `size` (at least the samples appended so far), for writers that learn late that
  // some samples will not come (an image import skipping bad files).
  void shrink(int64_t size);
  // A float attribute on /images (e.g. "mean" and "std" per channel), written with the file.
  void set_images_attribute(const std::string& name, std::span<const float> values);
  // A text attribute on /images (e.g. "resize_filter"), written with the file.
  void set_images_text_attribute(const std::string& name, const std::string& value);
  // Requires all N samples appended.
  void commit();

  // Rows of one chunk of /images: about 256 KiB per chunk, at least 1 and at most N.
  static int64_t chunk_rows(const std::array<int64_t, 4>& dims_nhwc);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes a whole dataset at once: images [N, H, W, C] uint8, labels [N].
void write_hdf5_dataset(const std::string& path, const std::array<int64_t, 4>& dims_nhwc,
                        const uint8_t* images_nhwc, const int32_t* labels,
                        const std::vector<std::string>& class_names, const Hdf5WriteOptions& options = {});

}  // namespace convoy
