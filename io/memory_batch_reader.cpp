#include "io/memory_batch_reader.hpp"

#include <algorithm>
#include <utility>

#include "core/error.hpp"

namespace convoy {

MemoryBatchReader::MemoryBatchReader(Tensor images, std::vector<int32_t> labels, int64_t classes,
                                     std::vector<std::string> class_names)
    : images_(std::move(images)), labels_(std::move(labels)) {
  const Shape& shape = images_.shape();
  CONVOY_CHECK(shape.rank() == 4, ShapeError, "MemoryBatchReader: expected images [N, C, H, W], found ",
               shape.str());
  CONVOY_CHECK(static_cast<int64_t>(labels_.size()) == shape[0], ShapeError, "MemoryBatchReader: images ",
               shape.str(), " hold ", shape[0], " samples but there are ", labels_.size(), " labels");
  CONVOY_CHECK(classes > 0, ConfigError, "MemoryBatchReader: expected classes > 0, found ", classes);
  CONVOY_CHECK(class_names.empty() || static_cast<int64_t>(class_names.size()) == classes, ConfigError,
               "MemoryBatchReader: expected ", classes, " class names, found ", class_names.size());
  for (size_t i = 0; i < labels_.size(); ++i) {
    CONVOY_CHECK(labels_[i] >= 0 && labels_[i] < classes, ConfigError, "MemoryBatchReader: label ", i, " is ",
                 labels_[i], ", expected [0, ", classes, ")");
  }
  info_.size = shape[0];
  info_.sample = Shape{shape[1], shape[2], shape[3]};
  info_.classes = classes;
  info_.class_names = std::move(class_names);
}

void MemoryBatchReader::plan(std::vector<std::vector<int64_t>> batches, int64_t /*epoch*/) {
  for (size_t b = 0; b < batches.size(); ++b) {
    CONVOY_ASSERT(!batches[b].empty(), "MemoryBatchReader: planned batch ", b,
                  " is empty; expected at least one sample index");
    for (int64_t index : batches[b]) {
      CONVOY_ASSERT(index >= 0 && index < info_.size, "MemoryBatchReader: planned batch ", b,
                    " has sample index ", index, ", expected [0, ", info_.size, ")");
    }
  }
  plan_ = std::move(batches);
  delivered_ = 0;
}

const Batch& MemoryBatchReader::next() {
  CONVOY_ASSERT(delivered_ < plan_.size(), "MemoryBatchReader: next() called with no planned batch left (",
                delivered_, " of ", plan_.size(), " delivered); call plan() first");
  const std::vector<int64_t>& indices = plan_[delivered_++];
  const auto n = static_cast<int64_t>(indices.size());
  const int64_t sample_numel = info_.sample.numel();
  const Shape shape = images_.shape().with_batch(n);
  if (storage_.numel() < shape.numel()) storage_ = Tensor(shape);
  batch_.images = storage_.reshaped(shape);
  batch_.labels.resize(indices.size());
  batch_.indices = indices;
  for (int64_t i = 0; i < n; ++i) {
    const float* in = images_.data() + indices[i] * sample_numel;
    std::copy(in, in + sample_numel, batch_.images.data() + i * sample_numel);
    batch_.labels[i] = labels_[indices[i]];
  }
  samples_read_ += n;
  return batch_;
}

}  // namespace convoy
