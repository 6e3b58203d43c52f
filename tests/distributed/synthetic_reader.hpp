// SyntheticReader: an in-memory BatchReader over generated, learnable samples, for trainer tests.
#pragma once

#include <cstdint>
#include <vector>

#include "core/batch_reader.hpp"

namespace convoy::testing {

// Class k's images are a bright horizontal band at a class-specific row plus noise, so a small
// CNN separates them within a few steps. Records every sample index it delivered.
class SyntheticReader final : public BatchReader {
 public:
  SyntheticReader(int64_t size, int64_t classes, Shape sample, uint64_t seed);

  const DatasetInfo& info() const override { return info_; }
  using BatchReader::plan;
  void plan(std::vector<std::vector<int64_t>> batches, int64_t epoch) override;
  const Batch& next() override;

  const std::vector<int64_t>& delivered() const { return delivered_; }

 private:
  DatasetInfo info_;
  std::vector<float> images_;
  std::vector<int32_t> labels_;
  std::vector<std::vector<int64_t>> plan_;
  size_t next_ = 0;
  Batch batch_;
  std::vector<int64_t> delivered_;
};

}  // namespace convoy::testing
