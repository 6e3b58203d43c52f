#include "distributed/rank_sum.hpp"

#include <chrono>

#include "core/kernels/tree_sum.hpp"

namespace convoy {

void CommRankSum::sum(double* values, int64_t count) const {
  const int ranks = comm_.size();
  if (ranks == 1 || count == 0) return;
  gathered_.resize(static_cast<size_t>(ranks * count));
  column_.resize(static_cast<size_t>(ranks));
  const auto start = std::chrono::steady_clock::now();
  comm_.allgather(values, count, gathered_.data());
  seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int64_t j = 0; j < count; ++j) {
    for (int r = 0; r < ranks; ++r) column_[r] = gathered_[r * count + j];
    values[j] = tree_sum(column_.data(), ranks);
  }
}

}  // namespace convoy
