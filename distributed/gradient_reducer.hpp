// GradientReducer: sums the flat gradient buffer over ranks in buckets, overlapping backward.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "distributed/communicator.hpp"

namespace convoy {

// How the gradient sum over ranks is taken (Note [Ordered reduction]).
enum class Reduction {
  ordered,  // exchange segments, add them in the fixed tree, gather the sums: the bits of one rank
  mpi,      // MPI_Iallreduce: MPI's order, fewer bytes received with many ranks
};

// "ordered" or "mpi"; parse_reduction throws ConfigError naming the value otherwise.
std::string reduction_name(Reduction reduction);
Reduction parse_reduction(const std::string& name);

// Note [Gradient buckets]
// The flat gradient buffer (Note [Flat parameter store]) is cut into contiguous buckets.
// Backward finishes gradients from the end of the buffer toward the start (last layer first)
// and calls ready_from(offset) after each layer: every bucket lying wholly at or above offset
// starts its non-blocking reduction at once, while backward goes on with earlier layers
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
//
// Note [Ordered reduction]
// MPI_Iallreduce adds the ranks' values in an order MPI chooses (it depends on the algorithm,
// the rank count and the message size), so P ranks agree with one rank only to rounding. The
// ordered reduction takes the sum in two collectives, as a ring all-reduce moves its bytes:
// each bucket is cut into P segments (on cache lines), and
// 1. exchange (MPI_Ialltoallv): rank r receives every rank's segment r as the rows of a
//    [P, segment] buffer, and adds the P rows with tree_sum, rank 0's first: the top levels
//    of the tree each rank's layers started (Note [Fixed summation tree]);
// 2. gather (MPI_Iallgatherv): every rank receives every summed segment into the bucket.
// tree_sum adds every element on its own, so the sum is the same whoever takes it: the ranks
// stay identical, and identical to one rank when Note [Fixed summation tree] allows. Each rank
// sends and receives 2 (P - 1) / P buckets per bucket, as MPI's ring all-reduce does, and keeps
// one bucket of rows.
//
// MPI requires every rank to start collectives on a communicator in the same order. The gathers
// have an order of their own (communicator.hpp: their own communicator), bucket after bucket,
// so a bucket's gather starts as soon as its exchange has arrived and every earlier bucket's
// gather has started, whenever backward next calls ready_from: backward never waits for the
// network. finish() waits for the rest, in order. (Gathers started at fixed points of backward
// would wait there for their exchange: on slow links, with many buckets, backward would stall.)
class GradientReducer {
 public:
  // Why 256 KiB: our models are small (keras-cnn's gradient is 373 KB, so PyTorch's 25 MB or
  // Horovod's 64 MB would be one bucket started only after backward, with nothing overlapped).
  // 256 KiB gives a few buckets per model, each long enough (~0.2 ms at 10 Gb/s) that the
  // per-message latency (a few to ~50 us) stays a small share, and fits in L2 for the sum.
  static constexpr int64_t kDefaultBucketBytes = 256 * 1024;

  // data: the flat gradient buffer of count floats; it must outlive the reducer.
  GradientReducer(Communicator& comm, float* data, int64_t count, int64_t bucket_bytes = kDefaultBucketBytes,
                  Reduction reduction = Reduction::ordered);

  // Starts a step; the previous one must have finished.
  void begin_step();
  // Every gradient at index >= offset is final and will not be touched until finish().
  // Starts the buckets that became complete and lets MPI progress those in flight.
  void ready_from(int64_t offset);
  // Starts the remaining buckets and waits for all; afterwards the buffer holds the sums.
  void finish();

  // Seconds this step spent waiting for communication that backward did not hide: in finish(),
  // and (ordered) in ready_from() when a bucket's exchange was not done by the time its gather
  // was due.
  double last_wait_seconds() const { return last_wait_; }
  int64_t bucket_count() const { return static_cast<int64_t>(buckets_.size()); }

 private:
  struct Bucket {
    int64_t begin;
    int64_t end;               // exclusive
    std::vector<int> offsets;  // ordered: the P segments, relative to begin (Note [Ordered reduction])
    int64_t rows = 0;          // ordered: where its [P, segment] rows start in rows_
  };

  // Starts the bucket's all-reduce or, ordered, its exchange.
  void start(size_t i);
  // Ordered: waits for bucket i's exchange, sums its rows and starts its gather.
  void gather(size_t i);

  Communicator& comm_;
  float* data_;
  Reduction reduction_;
  std::shared_ptr<float[]> rows_;  // ordered, several ranks: every bucket's rows of this rank's segment
  std::vector<Bucket> buckets_;    // in start order: from the buffer's end down
  std::vector<std::unique_ptr<CommRequest>> requests_;
  size_t started_ = 0;    // buckets_[0, started_) are in flight or done
  size_t gathering_ = 0;  // ordered: buckets_[0, gathering_) have started their gather
  size_t completed_ = 0;  // buckets_[0, completed_) are known done
  double last_wait_ = 0.0;
};

}  // namespace convoy
