// MemoryBatchReader: a BatchReader over float images held in memory, for tests and small datasets.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/batch_reader.hpp"

namespace convoy {

// Delivers planned batches by copying samples out of an in-memory [N, C, H, W] tensor, on the
// caller's thread. Same contract as Loader: one consumer; the returned batch stays valid until
// the next next() or plan().
class MemoryBatchReader final : public BatchReader {
 public:
  // images [N, C, H, W]; labels [N], each in [0, classes). Throws ShapeError or ConfigError.
  MemoryBatchReader(Tensor images, std::vector<int32_t> labels, int64_t classes,
                    std::vector<std::string> class_names = {});

  const DatasetInfo& info() const override { return info_; }
  using BatchReader::plan;
  // Throws InternalError (the caller's bug) for an empty batch or an index outside [0, N). The
  // epoch is not used.
  void plan(std::vector<std::vector<int64_t>> batches, int64_t epoch) override;
  // Throws InternalError when no planned batch is left.
  const Batch& next() override;

  int64_t samples_read() const { return samples_read_; }

 private:
  Tensor images_;
  std::vector<int32_t> labels_;
  DatasetInfo info_;
  std::vector<std::vector<int64_t>> plan_;
  size_t delivered_ = 0;
  Tensor storage_;  // grows to the largest batch; batch_.images views it
  Batch batch_;
  int64_t samples_read_ = 0;
};

}  // namespace convoy
