#include "distributed/gradient_reducer.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "core/error.hpp"
#include "core/kernels/tree_sum.hpp"
#include "core/tensor.hpp"

namespace convoy {

std::string reduction_name(Reduction reduction) { return reduction == Reduction::ordered ? "ordered" : "mpi"; }

Reduction parse_reduction(const std::string& name) {
  if (name == "ordered") return Reduction::ordered;
  if (name == "mpi") return Reduction::mpi;
  throw ConfigError("gradient reduction '" + name + "': expected ordered or mpi");
}

GradientReducer::GradientReducer(Communicator& comm, float* data, int64_t count, int64_t bucket_bytes,
                                 Reduction reduction)
    : comm_(comm), data_(data), reduction_(reduction) {
  CONVOY_CHECK(bucket_bytes > 0, ConfigError, "gradient bucket of ", bucket_bytes, " bytes: expected > 0");
  CONVOY_ASSERT(count >= 0 && (count == 0 || data != nullptr), "gradient buffer of ", count, " floats");
  constexpr int64_t kLine = 16;  // floats per 64-byte cache line
  const int64_t floats = std::max(kLine, bucket_bytes / static_cast<int64_t>(sizeof(float)) / kLine * kLine);
  // Note [Gradient buckets]: the top bucket takes the < 16 floats past the last line boundary.
  int64_t end = count;
  for (int64_t begin = count / kLine * kLine - floats; end > 0; begin -= floats) {
    buckets_.push_back({std::max<int64_t>(0, begin), end});
    end = std::max<int64_t>(0, begin);
  }
  requests_.resize(buckets_.size());
  // Note [Ordered reduction]: every bucket in flight has its own rows, so one allocation here.
  if (reduction_ == Reduction::ordered && comm_.size() > 1 && count > 0)
    gathered_ = allocate_aligned(count * comm_.size());
}

void GradientReducer::begin_step() {
  CONVOY_ASSERT(started_ == 0 || completed_ == buckets_.size(), "begin_step with ", started_ - completed_,
                " buckets still in flight");
  started_ = 0;
  completed_ = 0;
  last_wait_ = 0.0;
}

void GradientReducer::start(const Bucket& bucket, std::unique_ptr<CommRequest>& request) {
  const int64_t count = bucket.end - bucket.begin;
  if (reduction_ == Reduction::mpi)
    request = comm_.iallreduce_sum(data_ + bucket.begin, count);
  else
    request = comm_.iallgather(data_ + bucket.begin, count, gathered_.get() + comm_.size() * bucket.begin);
}

void GradientReducer::complete(const Bucket& bucket) {
  if (reduction_ == Reduction::mpi) return;
  // rows [P, count]: rank r's bucket in row r; Note [Fixed summation tree]
  const int64_t count = bucket.end - bucket.begin;
  float* rows = gathered_.get() + comm_.size() * bucket.begin;
  tree_sum_in_place(rows, comm_.size(), count, count);
  std::memcpy(data_ + bucket.begin, rows, static_cast<size_t>(count) * sizeof(float));
}

void GradientReducer::ready_from(int64_t offset) {
  if (comm_.size() == 1) return;
  while (started_ < buckets_.size() && buckets_[started_].begin >= offset) {
    start(buckets_[started_], requests_[started_]);
    ++started_;
  }
  // Open MPI progresses non-blocking collectives only inside MPI calls: testing the oldest
  // unfinished request moves every one in flight along while backward computes.
  while (completed_ < started_ && requests_[completed_]->test()) {
    requests_[completed_].reset();
    complete(buckets_[completed_++]);
  }
}

void GradientReducer::finish() {
  if (comm_.size() == 1) return;
  ready_from(0);
  const auto start = std::chrono::steady_clock::now();
  for (; completed_ < started_; ++completed_) {
    requests_[completed_]->wait();
    requests_[completed_].reset();
    complete(buckets_[completed_]);
  }
  last_wait_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace convoy
