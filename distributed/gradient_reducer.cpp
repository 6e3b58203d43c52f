#include "distributed/gradient_reducer.hpp"

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstring>

#include "core/alignment.hpp"
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
  CONVOY_CHECK(floats + kLine <= INT_MAX, ConfigError, "gradient bucket of ", bucket_bytes,
               " bytes: expected at most 8 GiB (MPI counts are ints)");
  // Note [Gradient buckets]: the top bucket takes the < 16 floats past the last line boundary.
  int64_t end = count;
  for (int64_t begin = count / kLine * kLine - floats; end > 0; begin -= floats) {
    buckets_.push_back({std::max<int64_t>(0, begin), end, {}});
    end = std::max<int64_t>(0, begin);
  }
  requests_.resize(buckets_.size());
  // Note [Ordered reduction]: P segments per bucket, each a whole number of cache lines but the
  // last; every bucket in flight has its own rows, so one allocation here.
  const int ranks = comm_.size(), rank = comm_.rank();
  if (reduction_ != Reduction::ordered || ranks == 1) return;
  int64_t rows = 0;
  for (Bucket& b : buckets_) {
    const int64_t n = b.end - b.begin, segment = (n + ranks * kLine - 1) / (ranks * kLine) * kLine;
    b.offsets.resize(ranks + 1);
    for (int r = 0; r <= ranks; ++r) b.offsets[r] = static_cast<int>(std::min(n, r * segment));
    b.rows = rows;
    rows = align_floats(rows + ranks * int64_t{b.offsets[rank + 1] - b.offsets[rank]});
  }
  rows_ = allocate_aligned(std::max<int64_t>(rows, kLine));
}

void GradientReducer::begin_step() {
  CONVOY_ASSERT(started_ == 0 || completed_ == buckets_.size(), "begin_step with ", started_ - completed_,
                " buckets still in flight");
  started_ = 0;
  gathering_ = 0;
  completed_ = 0;
  last_wait_ = 0.0;
}

void GradientReducer::start(size_t i) {
  const Bucket& b = buckets_[i];
  if (reduction_ == Reduction::mpi)
    requests_[i] = comm_.iallreduce_sum(data_ + b.begin, b.end - b.begin);
  else
    requests_[i] = comm_.iexchange_segments(data_ + b.begin, b.offsets.data(), rows_.get() + b.rows);
}

void GradientReducer::gather(size_t i) {
  const Bucket& b = buckets_[i];
  // Inside backward the exchange is in already; from finish() this may wait for it.
  const auto start = std::chrono::steady_clock::now();
  requests_[i]->wait();
  last_wait_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // rows [P, mine]: rank r's part of this rank's segment in row r; Note [Fixed summation tree]
  const int64_t mine = b.offsets[comm_.rank() + 1] - b.offsets[comm_.rank()];
  float* rows = rows_.get() + b.rows;
  tree_sum_in_place(rows, comm_.size(), mine, mine);
  requests_[i] = comm_.iallgather_segments(rows, b.offsets.data(), data_ + b.begin);
}

void GradientReducer::ready_from(int64_t offset) {
  if (comm_.size() == 1) return;
  const bool ordered = reduction_ == Reduction::ordered;
  while (started_ < buckets_.size() && buckets_[started_].begin >= offset) start(started_++);
  // Note [Ordered reduction]: each gather as soon as its exchange is in, in bucket order.
  while (ordered && gathering_ < started_ && requests_[gathering_]->test()) gather(gathering_++);
  // Open MPI progresses non-blocking collectives only inside MPI calls: testing the oldest
  // unfinished request moves every one in flight along while backward computes.
  const size_t summed = ordered ? gathering_ : started_;  // requests whose completion ends a bucket
  while (completed_ < summed && requests_[completed_]->test()) requests_[completed_++].reset();
  if (completed_ == summed && summed < started_) requests_[summed]->test();
}

void GradientReducer::finish() {
  if (comm_.size() == 1) return;
  ready_from(0);
  const double waited = last_wait_;  // in backward; the gathers below add theirs again
  const auto start = std::chrono::steady_clock::now();
  while (reduction_ == Reduction::ordered && gathering_ < started_) gather(gathering_++);
  for (; completed_ < started_; ++completed_) {
    requests_[completed_]->wait();
    requests_[completed_].reset();
  }
  last_wait_ = waited + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace convoy
