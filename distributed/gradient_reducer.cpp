#include "distributed/gradient_reducer.hpp"

#include <algorithm>
#include <chrono>

#include "core/error.hpp"

namespace convoy {

GradientReducer::GradientReducer(Communicator& comm, float* data, int64_t count, int64_t bucket_bytes)
    : comm_(comm), data_(data) {
  CONVOY_CHECK(bucket_bytes > 0, ConfigError, "gradient bucket of ", bucket_bytes, " bytes: expected > 0");
  // Whole cache lines per bucket, so neighbouring buckets never share one.
  const int64_t floats = std::max<int64_t>(16, bucket_bytes / static_cast<int64_t>(sizeof(float)) / 16 * 16);
  for (int64_t end = count; end > 0; end -= floats) buckets_.emplace_back(std::max<int64_t>(0, end - floats), end);
  requests_.resize(buckets_.size());
}

void GradientReducer::begin_step() {
  started_ = 0;
  last_wait_ = 0.0;
}

void GradientReducer::start(size_t bucket) {
  const auto [begin, end] = buckets_[bucket];
  requests_[bucket] = comm_.iallreduce_sum(data_ + begin, end - begin);
}

void GradientReducer::ready_from(int64_t offset) {
  if (comm_.size() == 1) return;
  while (started_ < buckets_.size() && buckets_[started_].first >= offset) start(started_++);
  // Let MPI progress the buckets in flight while the caller computes.
  for (size_t b = 0; b < started_; ++b)
    if (requests_[b]) requests_[b]->test();
}

void GradientReducer::finish() {
  if (comm_.size() == 1) return;
  while (started_ < buckets_.size()) start(started_++);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto& request : requests_) {
    if (request) request->wait();
    request.reset();
  }
  last_wait_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace convoy
