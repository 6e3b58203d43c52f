#include "distributed/sampler.hpp"

#include <algorithm>
#include <numeric>
#include <utility>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace convoy {

Sampler::Sampler(int64_t dataset_size, int64_t global_batch, uint64_t seed, bool shuffle, bool drop_last)
    : size_(dataset_size), batch_(global_batch), seed_(seed), shuffle_(shuffle) {
  CONVOY_CHECK(global_batch > 0, ConfigError, "global batch of ", global_batch, ": expected a positive batch size");
  CONVOY_CHECK(dataset_size > 0, ConfigError, "training set of ", dataset_size, " samples: expected at least one");
  CONVOY_CHECK(!drop_last || dataset_size >= global_batch, ConfigError, "global batch of ", global_batch,
               " with drop_last: larger than the training set of ", dataset_size,
               " samples, so an epoch would have no step");
  batches_ = drop_last ? size_ / batch_ : (size_ + batch_ - 1) / batch_;
}

int64_t Sampler::global_batch_size(int64_t batch) const {
  CONVOY_ASSERT(batch >= 0 && batch < batches_, "batch ", batch, " of ", batches_);
  return std::min(batch_, size_ - batch * batch_);
}

const std::vector<int64_t>& Sampler::order(int64_t epoch) {
  CONVOY_ASSERT(epoch >= 0, "epoch ", epoch);
  if (epoch == cached_epoch_) return order_;
  order_.resize(size_);
  std::iota(order_.begin(), order_.end(), int64_t{0});
  if (shuffle_) {
    // The modulo bias is below (i + 1) / 2^64: invisible for any dataset that fits in memory.
    for (int64_t i = size_ - 1; i > 0; --i) {
      const uint64_t r =
          random_bits(seed_, RandomPurpose::shuffle, static_cast<uint64_t>(epoch), static_cast<uint64_t>(i));
      std::swap(order_[i], order_[static_cast<int64_t>(r % static_cast<uint64_t>(i + 1))]);
    }
  }
  cached_epoch_ = epoch;
  return order_;
}

std::vector<int64_t> Sampler::global_batch(int64_t epoch, int64_t batch) {
  const int64_t count = global_batch_size(batch);
  const auto first = order(epoch).begin() + batch * batch_;
  return {first, first + count};
}

int64_t Sampler::rank_offset(int64_t batch, int rank, int world) const {
  CONVOY_ASSERT(world > 0 && rank >= 0 && rank < world, "rank ", rank, " of ", world);
  const int64_t q = global_batch_size(batch) / world, m = global_batch_size(batch) % world;
  return rank * q + std::min<int64_t>(rank, m);
}

int64_t Sampler::rank_count(int64_t batch, int rank, int world) const {
  CONVOY_ASSERT(world > 0 && rank >= 0 && rank < world, "rank ", rank, " of ", world);
  const int64_t q = global_batch_size(batch) / world, m = global_batch_size(batch) % world;
  return q + (rank < m ? 1 : 0);
}

std::vector<int64_t> Sampler::rank_slice(int64_t epoch, int64_t batch, int rank, int world) {
  const int64_t begin = batch * batch_ + rank_offset(batch, rank, world);
  const int64_t count = rank_count(batch, rank, world);
  const auto first = order(epoch).begin() + begin;
  return {first, first + count};
}

}  // namespace convoy
