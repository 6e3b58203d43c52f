#include "distributed/training_observer.hpp"

#include <algorithm>
#include <cstddef>

namespace convoy {

namespace {

double busy(const RankTimes& t) { return t.compute + t.data_wait; }

}  // namespace

double median_busy_seconds(const std::vector<RankTimes>& ranks) {
  if (ranks.empty()) return 0.0;
  std::vector<double> sorted;
  for (const RankTimes& t : ranks) sorted.push_back(busy(t));
  const auto middle = sorted.begin() + static_cast<std::ptrdiff_t>((sorted.size() - 1) / 2);
  std::nth_element(sorted.begin(), middle, sorted.end());
  return *middle;
}

int lagging_rank(const std::vector<RankTimes>& ranks, double margin) {
  if (ranks.size() < 2) return -1;
  const double median = median_busy_seconds(ranks);
  const auto slowest =
      std::max_element(ranks.begin(), ranks.end(), [](const RankTimes& a, const RankTimes& b) { return busy(a) < busy(b); });
  if (median <= 0.0 || busy(*slowest) <= median * (1.0 + margin)) return -1;
  return static_cast<int>(slowest - ranks.begin());
}

}  // namespace convoy
