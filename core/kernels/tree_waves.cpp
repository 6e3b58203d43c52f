#include "core/kernels/tree_waves.hpp"

#include <algorithm>
#include <bit>

#include "core/error.hpp"
#include "core/kernels/cpu_features.hpp"

namespace convoy {
namespace {

// Columns taken through every add while they are in L1 (4 KiB of each slot).
constexpr int64_t kBlock = 1024;

inline void adds_in_blocks(float* slots, int64_t stride, std::span<const TreeAdd> adds, int64_t j0, int64_t j1) {
  for (int64_t b = j0; b < j1; b += kBlock) {
    const int64_t width = std::min(kBlock, j1 - b);
    for (const TreeAdd& add : adds) {
      float* into = slots + add.into * stride + b;
      const float* from = slots + add.from * stride + b;
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) into[j] += from[j];
    }
  }
}

__attribute__((target("avx512f,prefer-vector-width=512"), flatten)) void adds_avx512(float* slots, int64_t stride,
                                                                                     std::span<const TreeAdd> adds,
                                                                                     int64_t j0, int64_t j1) {
  adds_in_blocks(slots, stride, adds, j0, j1);
}

__attribute__((target("avx2"), flatten)) void adds_avx2(float* slots, int64_t stride, std::span<const TreeAdd> adds,
                                                        int64_t j0, int64_t j1) {
  adds_in_blocks(slots, stride, adds, j0, j1);
}

}  // namespace

TreeWaves plan_tree_waves(int64_t count, int64_t width) {
  CONVOY_ASSERT(count >= 1 && width >= 1 && std::has_single_bit(static_cast<uint64_t>(width)), "tree waves of ", count,
                " leaves, ", width, " at a time");
  struct Subtree {
    int64_t leaves, slot;
  };
  std::vector<Subtree> done;        // completed subtrees, leaves strictly decreasing
  std::vector<int64_t> free_slots;  // slots whose partial has been added into another
  TreeWaves plan;
  for (int64_t first = 0; first < count; first += width) {
    TreeWave& wave = plan.waves.emplace_back();
    wave.first = first;
    for (int64_t leaf = first; leaf < std::min(count, first + width); ++leaf) {
      int64_t slot = plan.slots;
      if (free_slots.empty()) {
        ++plan.slots;
      } else {
        slot = free_slots.back();
        free_slots.pop_back();
      }
      wave.slots.push_back(slot);
    }
    // Freed slots are taken again only by the next wave: this wave's leaves are written together.
    const auto join_last_two = [&] {
      const Subtree right = done.back();
      done.pop_back();
      wave.adds.push_back({done.back().slot, right.slot});
      done.back().leaves += right.leaves;
      free_slots.push_back(right.slot);
    };
    for (const int64_t slot : wave.slots) {
      done.push_back({1, slot});
      while (done.size() >= 2 && done[done.size() - 2].leaves == done.back().leaves) join_last_two();
    }
    if (first + width >= count)
      while (done.size() >= 2) join_last_two();
  }
  plan.root = done.front().slot;
  return plan;
}

void run_tree_adds(float* slots, int64_t stride, std::span<const TreeAdd> adds, int64_t j0, int64_t j1) {
  switch (active_isa()) {
    case Isa::avx512: return adds_avx512(slots, stride, adds, j0, j1);
    case Isa::avx2: return adds_avx2(slots, stride, adds, j0, j1);
    case Isa::generic: break;
  }
  adds_in_blocks(slots, stride, adds, j0, j1);
}

}  // namespace convoy
