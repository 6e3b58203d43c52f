// How a convolution implementation lays out its scratch: a region per thread, then one shared.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "core/alignment.hpp"
#include "core/kernels/thread_count.hpp"

namespace convoy {

// `threads` regions of per_thread floats, each starting on a cache line, then the shared region
// (packed weights, weight-gradient partials).
struct ScratchSplit {
  int64_t per_thread;
  int threads;
  int64_t floats(int64_t shared) const { return std::max(threads, 1) * per_thread + shared; }
  float* own(float* scratch, int thread) const { return scratch + thread * per_thread; }
  float* shared(float* scratch) const { return scratch + std::max(threads, 1) * per_thread; }
};
inline ScratchSplit split_scratch(int64_t per_thread_floats, int threads) {
  return {align_floats(per_thread_floats), threads};
}

// The passes that pack their weights first (the same convolution, Winograd): pack(t) for each
// of `tiles` weight tiles into the shared region, then body(the thread's region, item) for
// every item, in one parallel region.
template <typename Pack, typename Body>
void pack_then_items(const ScratchSplit& split, float* scratch, int64_t tiles, Pack pack, int64_t items, Body body) {
#pragma omp parallel num_threads(clamp_threads(split.threads, items))
  {
    float* own = split.own(scratch, omp_get_thread_num());
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) pack(t);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < items; ++i) body(own, i);
  }
}

}  // namespace convoy
