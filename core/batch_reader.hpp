// BatchReader: where the trainer gets labelled samples; io implements it over HDF5, tests in memory.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/shape.hpp"
#include "core/tensor.hpp"

namespace convoy {

struct DatasetInfo {
  int64_t size = 0;      // number of samples
  Shape sample;          // one sample as the model sees it: [C, H, W]
  int64_t classes = 0;   // labels are in [0, classes)
  std::vector<std::string> class_names;  // may be empty
  uint64_t content_hash = 0;  // a hash of the data's content the reader can take cheaply (HDF5: every label); 0 if none
};

// A batch as the model consumes it. Images are float NCHW scaled to [0, 1].
struct Batch {
  Tensor images;                 // [n, C, H, W]
  std::vector<int32_t> labels;   // n labels
  std::vector<int64_t> indices;  // the global sample indices, in order
};

// The trainer plans whole sequences of batches up front, so an implementation may read ahead
// (io::Loader prefetches on one I/O thread). Not thread-safe: one consumer.
class BatchReader {
 public:
  virtual ~BatchReader() = default;
  virtual const DatasetInfo& info() const = 0;
  // Replaces any previous plan: the batches to deliver next, each a list of global sample
  // indices, all of training epoch `epoch` (a reader that augments draws from it, Note
  // [Augmentation] in io/augmentation.hpp; others ignore it).
  virtual void plan(std::vector<std::vector<int64_t>> batches, int64_t epoch) = 0;
  // A plan outside training epochs (evaluation): epoch 0.
  void plan(std::vector<std::vector<int64_t>> batches) { plan(std::move(batches), 0); }
  // The next planned batch; valid until the next call of next() or plan(). Throws the reader's
  // error (IoError naming the file) if reading failed, InternalError if nothing is planned.
  virtual const Batch& next() = 0;
};

}  // namespace convoy
