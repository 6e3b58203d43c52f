// Sampler: the global sample order of each epoch, its global batches, and each rank's slice.
#pragma once

#include <cstdint>
#include <vector>

namespace convoy {

// Note [Global batches]
// Epoch e visits a permutation of [0, N) that depends only on (seed, e) (Note [Counter-based
// randomness]): Fisher-Yates from the end, where the swap partner of position i is drawn from
// random_bits(seed, shuffle, e, i). Global batch b is the slice [b*B, (b+1)*B) of it. Rank r of
// P takes a contiguous part of that batch, split as evenly as possible: with B = q*P + m, ranks
// 0..m-1 take q + 1 samples and the others q. Changing P changes who computes a sample, never
// which samples form a step, so the loss (the mean over the global batch) is the same. The
// gradient has the same bits as well when each rank's part is the same power-of-two number of
// whole 8-sample groups (Note [Fixed summation tree]); an uneven split never is, and is kept.
//
// Last partial batch: with drop_last = false (the default everywhere) the last global batch
// holds the N mod B remaining samples, so every sample is seen exactly once per epoch; with
// drop_last = true those samples are skipped and every step has B samples. A short last batch
// can give a rank no sample at all (B_last < P): that rank must still take part in the step's
// collectives (all-reduce of zero gradients), or the other ranks wait for it forever.
class Sampler {
 public:
  // shuffle = false visits samples in file order every epoch.
  Sampler(int64_t dataset_size, int64_t global_batch, uint64_t seed, bool shuffle, bool drop_last = false);

  int64_t dataset_size() const { return size_; }
  int64_t batches_per_epoch() const { return batches_; }
  // B, or fewer for a partial last batch.
  int64_t global_batch_size(int64_t batch) const;
  // The sample indices of global batch `batch` of `epoch`, in order.
  std::vector<int64_t> global_batch(int64_t epoch, int64_t batch);
  // Rank `rank`'s contiguous part of that global batch (possibly empty).
  std::vector<int64_t> rank_slice(int64_t epoch, int64_t batch, int rank, int world);
  // Position of the rank's first sample within the global batch (for per-sample random streams).
  int64_t rank_offset(int64_t batch, int rank, int world) const;
  // How many samples the rank takes of that global batch.
  int64_t rank_count(int64_t batch, int rank, int world) const;

 private:
  // The epoch's permutation, computed once and kept until another epoch is asked for.
  const std::vector<int64_t>& order(int64_t epoch);

  int64_t size_;
  int64_t batch_;
  int64_t batches_;
  uint64_t seed_;
  bool shuffle_;
  int64_t cached_epoch_ = -1;
  std::vector<int64_t> order_;
};

}  // namespace convoy
