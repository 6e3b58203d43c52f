#include "core/kernels/im2col_conv.hpp"

#include "core/kernels/conv2d_chunks.hpp"
#include "core/kernels/conv2d_epilogue.hpp"
#include "core/kernels/conv2d_scratch.hpp"
#include "core/kernels/conv2d_weight_groups.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/gemm_dots.hpp"
#include "core/kernels/im2col.hpp"

namespace convoy {
namespace {

bool accepts_all(const Conv2dGeometry&, int) { return true; }

// Per thread: one chunk's col [patch, columns] and its output or gradient [Cout, columns].
ScratchSplit split(const Conv2dGeometry& g, const ChunkPlan& plan, int threads) {
  const int64_t columns = plan.max_columns(g);
  return split_scratch(g.patch() * columns + g.out_channels * columns, threads);
}

int64_t pass_floats(const Conv2dGeometry& g, int threads) { return split(g, pass_plan(g, threads), threads).floats(0); }

int64_t weights_floats(const Conv2dGeometry& g, int threads) {
  return split(g, weight_plan(g), threads).floats(weight_partials_floats(g, threads));
}

// im2col of every sample of the chunk, side by side in col [patch, columns].
void chunk_im2col(const Conv2dGeometry& g, const float* input, const Chunk& c, float* col) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w, per_sample = (c.oy1 - c.oy0) * g.out_w;
  const int64_t ld = c.ld(g);
  for (int64_t n = c.n0; n < c.n1; ++n) im2col(g, input + n * in_size, c.oy0, c.oy1, col + (n - c.n0) * per_sample, ld);
}

void forward(const Conv2dGeometry& g, const Conv2dForwardArgs& a, float* scratch, int threads) {
  const ChunkPlan plan = pass_plan(g, threads);
  const ScratchSplit s = split(g, plan, threads);
#pragma omp parallel num_threads(clamp_threads(threads, plan.count))
  {
    float* col = s.own(scratch, omp_get_thread_num());
    float* z = col + g.patch() * plan.max_columns(g);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < plan.count; ++i) {
      const Chunk c = plan.at(g, i);
      const int64_t ld = c.ld(g);
      chunk_im2col(g, a.input, c, col);
      // z [Cout, columns] = weight [Cout, patch] * col [patch, columns]
      gemm(Trans::no, Trans::no, g.out_channels, c.columns(g), g.patch(), a.weight, g.patch(), col, ld, 0.0f, z, ld);
      write_output(g, z, a.bias, c, a.output, a.pool_winners);
    }
  }
}

void backward_data(const Conv2dGeometry& g, const Conv2dBackwardDataArgs& a, float* scratch, int threads) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const ChunkPlan plan = pass_plan(g, threads);
  const ScratchSplit s = split(g, plan, threads);
  // A sample's bands add into overlapping input rows, so one thread takes all of a sample's
  // chunks: the work items are whole samples' chunks.
  const int64_t items = plan.count / plan.bands;
#pragma omp parallel num_threads(clamp_threads(threads, items))
  {
    float* col = s.own(scratch, omp_get_thread_num());
    float* og = col + g.patch() * plan.max_columns(g);
#pragma omp for schedule(static)
    for (int64_t item = 0; item < items; ++item) {
      for (int64_t i = item * plan.bands; i < (item + 1) * plan.bands; ++i) {
        const Chunk c = plan.at(g, i);
        const int64_t per_sample = (c.oy1 - c.oy0) * g.out_w, ld = c.ld(g);
        gather_output_grad(g, a.output, a.output_grad, a.pool_winners, c, og, nullptr);
        // col [patch, columns] = weight^T [patch, Cout] * output_grad [Cout, columns]
        gemm(Trans::yes, Trans::no, g.patch(), c.columns(g), g.out_channels, a.weight, g.patch(), og, ld, 0.0f, col,
             ld);
        // The first band overwrites the sample's gradient, the others add to it.
        for (int64_t n = c.n0; n < c.n1; ++n)
          col2im(g, col + (n - c.n0) * per_sample, ld, c.oy0, c.oy1, c.oy0 > 0, a.input_grad + n * in_size);
      }
    }
  }
}

void backward_weights(const Conv2dGeometry& g, const Conv2dBackwardWeightsArgs& a, float* scratch, int threads) {
  const int64_t patch = g.patch(), cout = g.out_channels;
  const ChunkPlan plan = weight_plan(g);
  const ScratchSplit s = split(g, plan, threads);
  // Chunks never straddle a group: S divides kWeightGradGroup, bands are within a sample.
  weight_grad_in_groups(g, PartialLayout::patch_major, s.shared(scratch), threads, a.weight_grad, a.bias_grad,
                        [&](int t, int64_t n0, int64_t n1, float* partial, float* bias_sums) {
                          float* col = s.own(scratch, t);
                          float* og = col + patch * plan.max_columns(g);
                          const int64_t first = n0 * plan.bands / plan.samples,
                                        last = (n1 * plan.bands + plan.samples - 1) / plan.samples;
                          for (int64_t i = first; i < last; ++i) {
                            const Chunk c = plan.at(g, i);
                            const float beta = i == first ? 0.0f : 1.0f;
                            const int64_t ld = c.ld(g), columns = c.columns(g);
                            chunk_im2col(g, a.input, c, col);
                            gather_output_grad(g, a.output, a.output_grad, a.pool_winners, c, og, bias_sums);
                            // partial [patch, Cout] (+)= col [patch, columns] * output_grad^T [columns, Cout]
                            if (prefer_gemm_dots(patch, cout, columns))
                              gemm_dots(patch, cout, columns, col, ld, og, ld, beta, partial, cout);
                            else
                              gemm(Trans::no, Trans::yes, patch, cout, columns, col, ld, og, ld, beta, partial, cout);
                          }
                        });
}

}  // namespace

const Conv2dForwardImpl kIm2colForward = {"im2col", accepts_all, pass_floats, forward};
const Conv2dBackwardDataImpl kIm2colBackwardData = {"im2col", accepts_all, pass_floats, backward_data};
const Conv2dBackwardWeightsImpl kIm2colBackwardWeights = {"im2col", accepts_all, weights_floats, backward_weights};

}  // namespace convoy
