// The HDF5 dataset format (/images [N,H,W,C], /labels [N], class_names): the validating reader.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/batch_reader.hpp"

namespace convoy {

struct Hdf5OpenOptions {
  // Labels must lie in [0, expected_classes) when > 0; otherwise the class count is the number
  // of class_names, or 0 (not stated: labels need only be >= 0) when the file has none.
  int64_t expected_classes = 0;
  // Samples per read the chunk cache is sized for: about this many chunks stay cached.
  int64_t batch_hint = 256;
  // Note [Resident images]: images of at most this many bytes (as stored) are read whole at
  // open and served from memory; 0 reads every batch from the file.
  int64_t memory_budget_bytes = 0;
};

// What an import recorded on /images (Note [Normalisation], convoy convert): each empty when the
// file does not have it.
struct ImageAttributes {
  std::vector<float> mean, std;  // per channel, in [0, 1] units
  std::string resize_filter;     // "area" or "bilinear" when the import resized
  std::string aspect;            // "stretch", "crop" or "pad"
};

// Note [HDF5 threads]
// Debian's libhdf5 is the serial thread-safe build; calls are serialised
// by one global lock, so only one thread (the loader's I/O thread) should read at a time.
//
// Opening validates the whole layout (and every label, which are kept in memory: 4 bytes a
// sample) so a bad file fails at open with a message naming it, never midway through training.
// Images are read only for the samples asked for, by hyperslab.
//
// Note [Resident images]
// A shuffled batch is a scattered read: runs of about one sample, each an H5Dread with its
// selection, on the I/O thread that competes with the compute threads for the cores. Images
// that fit the memory budget are read whole at open (one H5Dread, checked for non-finite
// values then) and each batch is only converted to float from memory. Fashion-MNIST's 60,000
// training images take 47 MB. Resident images no longer depend on the file, so its identity is
// not checked after open.
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
  const ImageAttributes& image_attributes() const;
  // Bytes of /images as stored, and whether they are held in memory (Note [Resident images]).
  int64_t image_bytes() const;
  bool resident() const;

  // Reads the samples `indices` (any order, repeats allowed) into images_nchw
  // [indices.size(), C, H, W] (uint8 scaled by 1/255, float32 as stored) and labels
  // [indices.size()], both overwritten. Indices are sorted and runs of consecutive ones read
  // as one hyperslab each; only those samples are read. Throws InternalError (the caller's bug) for an index outside
  // [0, N), IoError if HDF5 fails or the file changed since open (Note [Dataset file identity]
  // in file_identity.hpp). Not thread-safe (see Note [HDF5 threads]).
  void read(std::span<const int64_t> indices, float* images_nchw, int32_t* labels);

  // Samples delivered by read() so far (repeats counted); safe to call from any thread.
  int64_t samples_read() const;

 private:
  struct Impl;
  explicit Hdf5Dataset(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace convoy
