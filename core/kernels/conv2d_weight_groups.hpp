// The weight gradient of a convolution as a sum over fixed groups of samples, whatever the kernel.
#pragma once

#include <omp.h>

#include <algorithm>
#include <bit>
#include <cstdint>

#include "core/kernels/conv2d_kernels.hpp"
#include "core/kernels/thread_count.hpp"
#include "core/kernels/tree_sum.hpp"
#include "core/kernels/tree_waves.hpp"

namespace convoy {

// One group's partial sums: the weight gradient in one of two layouts, then the bias [Cout].
enum class PartialLayout {
  patch_major,  // dW^T [(c, kh, kw), Cout]: im2col, Winograd
  cout_major,   // dW [Cout, (kh, kw, c)]: shifted rows, 1x1
};
inline int64_t partial_floats(const Conv2dGeometry& g) { return (g.patch() + 1) * g.out_channels; }
inline int64_t weight_groups(const Conv2dGeometry& g) { return (g.batch + kWeightGradGroup - 1) / kWeightGradGroup; }
// The groups computed a wave of one group a thread at a time (Note [Tree in waves]).
inline TreeWaves weight_waves(const Conv2dGeometry& g, int threads) {
  const int64_t groups = weight_groups(g);
  return plan_tree_waves(groups,
                         static_cast<int64_t>(std::bit_ceil(static_cast<uint64_t>(clamp_threads(threads, groups)))));
}
// The live partials: the shared part of a backward-weights pass's scratch.
inline int64_t weight_partials_floats(const Conv2dGeometry& g, int threads) {
  return weight_waves(g, threads).slots * partial_floats(g);
}

// Note [Weight-gradient groups]
// Each group of kWeightGradGroup samples gets its partial dW and bias sums, written by one thread
// as group(thread, n0, n1, partial, bias_sums) sums samples [n0, n1) in an order fixed by the
// geometry (partial overwritten, bias_sums zeroed before). The groups are added in the fixed
// tree (Note [Fixed summation tree]) as they complete, a wave at a time (Note [Tree in waves]),
// each thread a slice of the elements, and weight_grad [Cout, patch] and bias_grad [Cout] (or
// null) += the sum, each element by one thread. So the bits depend on the batch only, never on
// the thread count, and ranks holding whole subtrees reproduce one rank's sum. partials:
// weight_partials_floats.
template <typename Group>
void weight_grad_in_groups(const Conv2dGeometry& g, PartialLayout layout, float* partials, int threads,
                           float* weight_grad, float* bias_grad, Group group) {
  const int64_t patch = g.patch(), cout = g.out_channels, size = partial_floats(g);
  const TreeWaves waves = weight_waves(g, threads);
#pragma omp parallel num_threads(clamp_threads(threads, weight_groups(g)))
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t j0 = size * t / nt, j1 = size * (t + 1) / nt;
    for (const TreeWave& wave : waves.waves) {
      const auto leaves = static_cast<int64_t>(wave.slots.size());
#pragma omp for schedule(static)
      for (int64_t i = 0; i < leaves; ++i) {
        float* partial = partials + wave.slots[i] * size;
        float* bias_sums = partial + patch * cout;
        std::fill(bias_sums, bias_sums + cout, 0.0f);
        const int64_t n0 = (wave.first + i) * kWeightGradGroup, n1 = std::min(g.batch, n0 + kWeightGradGroup);
        group(t, n0, n1, partial, bias_sums);
      }
      run_tree_adds(partials, size, wave.adds, j0, j1);
#pragma omp barrier
    }
    const float* sum = partials + waves.root * size;
#pragma omp for schedule(static)
    for (int64_t co = 0; co < cout; ++co) {
      float* wg = weight_grad + co * patch;
      if (layout == PartialLayout::cout_major) {
        const int64_t taps = g.kernel_h * g.kernel_w;
        const float* row = sum + co * patch;
        for (int64_t ci = 0; ci < g.in_channels; ++ci)
          for (int64_t tap = 0; tap < taps; ++tap) wg[ci * taps + tap] += row[tap * g.in_channels + ci];
      } else {
        for (int64_t i = 0; i < patch; ++i) wg[i] += sum[i * cout + co];
      }
      if (bias_grad != nullptr) bias_grad[co] += sum[patch * cout + co];
    }
  }
}

}  // namespace convoy
