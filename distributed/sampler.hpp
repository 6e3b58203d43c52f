// Sampler: the global sample order of each epoch, its global batches, and each rank's slice.
#pragma once

#include <cstdint>
#include <vector>

namespace convoy {

// Note [Global batches]
// Epoch e visits a permutation of [0, N) that depends only on (seed, e) (Note [Counter-based
// randomness]). Global batch b is the slice [b*B, (b+1)*B) of it; rank r of P takes the
// contiguous part [size*r/P, size*(r+1)/P) of that batch. Changing P changes who computes a
// sample, never which samples form a step. Without drop_last the last global batch holds the
// N mod B remaining samples (every sample is seen once per epoch); with it they are skipped.
// A rank may get no sample of a short last batch: it still steps, so collectives match.
class Sampler {
 public:
  Sampler(int64_t dataset_size, int64_t global_batch, uint64_t seed, bool shuffle, bool drop_last);

  int64_t batches_per_epoch() const { return batches_; }
  int64_t global_batch_size(int64_t batch) const;
  // The sample indices of global batch `batch` of `epoch`, in order.
  std::vector<int64_t> global_batch(int64_t epoch, int64_t batch);
  // Rank `rank`'s contiguous part of that global batch (possibly empty).
  std::vector<int64_t> rank_slice(int64_t epoch, int64_t batch, int rank, int world);
  // Position of the rank's first sample within the global batch.
  int64_t rank_offset(int64_t batch, int rank, int world) const;

 private:
  const std::vector<int64_t>& order(int64_t epoch);

  int64_t size_, batch_, batches_;
  uint64_t seed_;
  bool shuffle_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace convoy
