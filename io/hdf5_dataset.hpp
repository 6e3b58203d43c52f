// The HDF5 dataset format (/images [N,H,W,C], /labels [N], class_names): a validating reader and a writer.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/batch_reader.hpp"

namespace convoy {

struct Hdf5OpenOptions {
  // Labels must lie in [0, expected_classes) when > 0; otherwise the class count is the number
  // of class_names, or the largest label + 1 when the file has none.
  int64_t expected_classes = 0;
  // Samples per read the chunk cache is sized for: about this many chunks stay cached.
  int64_t batch_hint = 256;
};

// Note [HDF5 threads]
// Debian's libhdf5 is the serial thread-safe build; calls are serialised
// by one global lock, so only one thread (the loader's I/O thread) should read at a time.
//
// Opening validates the whole layout (and every label, which are kept in memory: 4 bytes a
// sample) so a bad file fails at open with a message naming it, never midway through training.
// Images are read only for the samples asked for, by hyperslab.
class Hdf5Dataset {
 public:
  // Throws IoError (missing file, not a regular file, not HDF5, missing dataset, wrong type,
  // a declared extent the file does not store, label out of range),
  // ShapeError (wrong rank, images and labels counts differ) or ConfigError (expected_classes
  // disagrees with class_names); each message names the file and dataset.
  static Hdf5Dataset open(const std::string& path, const Hdf5OpenOptions& options = {});

  Hdf5Dataset(Hdf5Dataset&&) noexcept;
  Hdf5Dataset& operator=(Hdf5Dataset&&) noexcept;
  ~Hdf5Dataset();

  const DatasetInfo& info() const;
  const std::string& path() const;
  // All labels, in file order.
  const std::vector<int32_t>& labels() const;

  // Reads the samples `indices` (any order, repeats allowed) into images_nchw
  // [indices.size(), C, H, W] (uint8 scaled by 1/255, float32 as stored) and labels
  // [indices.size()], both overwritten. Indices are sorted and runs of consecutive ones read
  // as one hyperslab each; only those samples are read. Throws ConfigError for an index outside
  // [0, N), IoError if HDF5 fails. Not thread-safe (see Note [HDF5 threads]).
  void read(std::span<const int64_t> indices, float* images_nchw, int32_t* labels);

  // Samples delivered by read() so far (repeats counted); safe to call from any thread.
  int64_t samples_read() const;

 private:
  struct Impl;
  explicit Hdf5Dataset(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

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

  // Appends `count` samples: images [count, H, W, C] uint8, labels [count].
  void append(int64_t count, const uint8_t* images_nhwc, const int32_t* labels);
  // Lowers N to `size` (at least the samples appended so far), for writers that learn late that
  // some samples will not come (an image import skipping bad files). ConfigError otherwise.
  void shrink(int64_t size);
  // A float attribute on /images (e.g. "mean" and "std" per channel), written with the file.
  void set_images_attribute(const std::string& name, std::span<const float> values);
  // Throws ConfigError if fewer than N samples were appended.
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
