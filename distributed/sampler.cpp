#include "distributed/sampler.hpp"

#include <numeric>
#include <utility>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace convoy {

Sampler::Sampler(int64_t dataset_size, int64_t global_batch, uint64_t seed, bool shuffle, bool drop_last)
    : size_(dataset_size), batch_(global_batch), seed_(seed), shuffle_(shuffle) {
  CONVOY_CHECK(global_batch > 0, ConfigError, "--batch ", global_batch, ": expected a positive batch size");
  CONVOY_CHECK(dataset_size >= global_batch, ConfigError, "--batch ", global_batch,
               ": larger than the training set of ", dataset_size, " samples");
  batches_ = drop_last ? size_ / batch_ : (size_ + batch_ - 1) / batch_;
}

int64_t Sampler::global_batch_size(int64_t batch) const {
  CONVOY_ASSERT(batch >= 0 && batch < batches_, "batch ", batch, " of ", batches_);
  return std::min(batch_, size_ - batch * batch_);
}

const std::vector<int64_t>& Sampler::order(int64_t epoch) {
  if (epoch == cached_epoch_) return order_;
  order_.resize(size_);
  std::iota(order_.begin(), order_.end(), 0);
  if (shuffle_) {
    // Fisher-Yates; the draw for position i depends only on (seed, epoch, i).
    for (int64_t i = size_ - 1; i > 0; --i) {
      const uint64_t r = random_bits(seed_, RandomPurpose::shuffle, static_cast<uint64_t>(epoch), static_cast<uint64_t>(i));
      std::swap(order_[i], order_[r % static_cast<uint64_t>(i + 1)]);
    }
  }
  cached_epoch_ = epoch;
  return order_;
}

std::vector<int64_t> Sampler::global_batch(int64_t epoch, int64_t batch) {
  const std::vector<int64_t>& o = order(epoch);
  const int64_t begin = batch * batch_;
  return {o.begin() + begin, o.begin() + begin + global_batch_size(batch)};
}

int64_t Sampler::rank_offset(int64_t batch, int rank, int world) const {
  return global_batch_size(batch) * rank / world;
}

std::vector<int64_t> Sampler::rank_slice(int64_t epoch, int64_t batch, int rank, int world) {
  CONVOY_ASSERT(rank >= 0 && rank < world);
  const std::vector<int64_t>& o = order(epoch);
  const int64_t base = batch * batch_;
  const int64_t begin = rank_offset(batch, rank, world);
  const int64_t end = rank + 1 == world ? global_batch_size(batch) : rank_offset(batch, rank + 1, world);
  return {o.begin() + base + begin, o.begin() + base + end};
}

}  // namespace convoy
