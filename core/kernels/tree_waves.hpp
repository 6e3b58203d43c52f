// The fixed summation tree computed as its leaves arrive, a wave of leaves at a time, so that
// only a few partials are live at once.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace convoy {

// Note [Tree in waves]
// The weight gradient's groups (Note [Weight-gradient groups]) each write a partial of the whole
// gradient; held all at once, 8 groups of ResNet-18's 512-channel 3x3 layers are 75 MB. Instead
// the leaves are computed in waves of `width` consecutive leaves (width a power of two, one
// leaf a thread), and after each wave every subtree of Note [Fixed summation tree] that the
// wave completes is summed, as a binary counter carries: two neighbouring subtrees of equal
// size are siblings. After the last wave the subtrees left (of strictly decreasing size, the
// incomplete right edge of the tree) are added right to left, which is how the tree joins an
// incomplete subtree. Each add is one of the tree's own adds, so the bits are those of
// tree_sum_in_place for any width; what the width changes is only how many partials are live:
// a wave's leaves plus one subtree root per bit of the leaves before it (8 leaves: 4 slots at
// widths 1 and 2, 5 at 4, 8 at 8).
struct TreeAdd {
  int64_t into, from;  // slot `into` += slot `from`, element by element
};
struct TreeWave {
  int64_t first = 0;           // the first leaf
  std::vector<int64_t> slots;  // the slot each leaf of the wave is written to
  std::vector<TreeAdd> adds;   // after the wave's leaves are written, in this order
};
struct TreeWaves {
  int64_t slots = 0;  // partials live at the peak
  int64_t root = 0;   // the slot that holds the whole sum after the last wave
  std::vector<TreeWave> waves;
};

// count >= 1 leaves, width >= 1 a power of two.
TreeWaves plan_tree_waves(int64_t count, int64_t width);

// For each add in order: slots[into][j] += slots[from][j] for j in [j0, j1); slot i is at
// slots + i * stride. Threads may split the columns among them in any way (same bits).
void run_tree_adds(float* slots, int64_t stride, std::span<const TreeAdd> adds, int64_t j0, int64_t j1);

}  // namespace convoy
