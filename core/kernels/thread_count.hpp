// How many OpenMP threads a parallel region over some work items gets.
#pragma once

#include <algorithm>
#include <cstdint>

namespace convoy {

// At most one thread per work item, at least one: a region never starts idle threads.
inline int clamp_threads(int threads, int64_t work_items) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, work_items)));
}

}  // namespace convoy
