// GradientReducer: all-reduces the flat gradient buffer in buckets, overlapping backward.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "distributed/communicator.hpp"

namespace convoy {

// Note [Gradient buckets]
// The flat gradient buffer (Note [Flat parameter store]) is cut into contiguous buckets from
// its end. Backward finishes gradients from the end toward the start, and calls ready_from()
// after each layer: every bucket lying wholly at or above that offset starts its non-blocking
// all-reduce at once, while backward goes on (Horovod's fusion buffer and PyTorch DDP's
// buckets, with the layout making fusion free). Boundaries depend only on the buffer size and
// the bucket size, so every rank starts the same collectives in the same order. Sums only:
// the trainer scales the loss gradient by 1 / global batch, so the sum is the mean gradient.
class GradientReducer {
 public:
  GradientReducer(Communicator& comm, float* data, int64_t count, int64_t bucket_bytes);

  void begin_step();
  // Gradients at index >= offset are final.
  void ready_from(int64_t offset);
  // Starts what is left, waits for everything; records the time spent waiting.
  void finish();

  double last_wait_seconds() const { return last_wait_; }
  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  void start(size_t bucket);

  Communicator& comm_;
  float* data_;
  std::vector<std::pair<int64_t, int64_t>> buckets_;  // [begin, end), from the buffer's end down
  std::vector<std::unique_ptr<CommRequest>> requests_;
  size_t started_ = 0;
  double last_wait_ = 0.0;
};

}  // namespace convoy
