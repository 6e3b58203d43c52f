// GradientReducer: all-reduces the flat gradient buffer in buckets, overlapping backward.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "distributed/communicator.hpp"

namespace convoy {

// Note [Gradient buckets]
// The flat gradient buffer (Note [Flat parameter store]) is cut into contiguous buckets.
// Backward finishes gradients from the end of the buffer toward the start (last layer first)
// and calls ready_from(offset) after each layer: every bucket lying wholly at or above offset
// starts its non-blocking all-reduce at once, while backward goes on with earlier layers
// (PyTorch DDP's buckets and Horovod's fusion buffer, with the flat layout making fusion free).
// Boundaries depend only on the buffer size and the bucket size, so every rank starts the same
// collectives in the same order, as MPI requires.
//
// Buckets are cut from the end: the top one is started first and the bottom one, usually the
// partial remainder, last. The last bucket cannot overlap any compute, so it is the one kept
// small. Inner boundaries fall on multiples of 16 floats, so with the 64-byte aligned buffer no
// two buckets share a cache line.
//
// Sums only: the trainer scales the loss gradient by 1 / global batch, so the sum over ranks
// is the mean gradient of the global batch. With one rank nothing is done at all.
class GradientReducer {
 public:
  // Why 256 KiB: our models are small (keras-cnn's gradient is 373 KB, so PyTorch's 25 MB or
  // Horovod's 64 MB would be one bucket started only after backward, with nothing overlapped).
  // 256 KiB gives a few buckets per model, each long enough (~0.2 ms at 10 Gb/s) that the
  // per-message latency (a few to ~50 us) stays a small share, and fits in L2 for the sum.
  static constexpr int64_t kDefaultBucketBytes = 256 * 1024;

  // data: the flat gradient buffer of count floats; it must outlive the reducer.
  GradientReducer(Communicator& comm, float* data, int64_t count, int64_t bucket_bytes = kDefaultBucketBytes);

  // Starts a step; the previous one must have finished.
  void begin_step();
  // Every gradient at index >= offset is final and will not be touched until finish().
  // Starts the buckets that became complete and lets MPI progress those in flight.
  void ready_from(int64_t offset);
  // Starts the remaining buckets and waits for all; afterwards the buffer holds the sums.
  void finish();

  // Seconds finish() spent waiting for communication that backward did not hide.
  double last_wait_seconds() const { return last_wait_; }
  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  struct Bucket {
    int64_t begin;
    int64_t end;  // exclusive
  };

  Communicator& comm_;
  float* data_;
  std::vector<Bucket> buckets_;  // in start order: from the buffer's end down
  std::vector<std::unique_ptr<CommRequest>> requests_;
  size_t started_ = 0;    // buckets_[0, started_) are in flight or done
  size_t completed_ = 0;  // buckets_[0, completed_) are known done
  double last_wait_ = 0.0;
};

}  // namespace convoy
