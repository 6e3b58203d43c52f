// DatasetParts: one or several HDF5 files read as one dataset, samples numbered through them in order.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/batch_reader.hpp"
#include "io/channel_statistics.hpp"
#include "io/hdf5_dataset.hpp"

namespace convoy {

// Note [Dataset parts]
// A dataset written in parts (a.h5, b.h5, ...) is one dataset: sample i of part k is global
// sample offset[k] + i, so the sampler, the shards of the ranks and the augmentation draws see
// one index space. The parts must agree on the sample shape and the class names (classes
// without names: the largest of the parts'). The content hash continues FNV-1a through every
// part's labels, so the dataset fingerprint of the parts equals that of one file holding them
// all in the same order: a checkpoint resumes on either.
class DatasetParts {
 public:
  // Opens every file; ShapeError or ConfigError naming the first file and the one that differs,
  // with both values; the errors of Hdf5Dataset::open otherwise. `paths` must not be empty.
  static DatasetParts open(const std::vector<std::string>& paths, const Hdf5OpenOptions& options = {});
  explicit DatasetParts(Hdf5Dataset single);

  const DatasetInfo& info() const { return info_; }
  const std::vector<Hdf5Dataset>& parts() const { return parts_; }
  // "'a.h5'", or "'a.h5' and 2 more files", for messages.
  std::string describe() const;
  // The parts' mean and std attributes taken over all samples; inactive when a part has none.
  Normalization statistics() const;

  // As Hdf5Dataset::read, over the global index space (ConfigError for an index outside it).
  void read(std::span<const int64_t> indices, float* images_nchw, int32_t* labels);
  int64_t samples_read() const;

 private:
  explicit DatasetParts(std::vector<Hdf5Dataset> parts);

  std::vector<Hdf5Dataset> parts_;
  std::vector<int64_t> offsets_;  // first global index of each part, then the total
  DatasetInfo info_;
  // Scratch for reads spanning parts, kept across reads.
  std::vector<int64_t> local_, position_;
  std::vector<float> images_;
  std::vector<int32_t> labels_;
};

}  // namespace convoy
