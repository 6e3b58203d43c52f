#include "core/kernels/shifted_rows_conv.hpp"

#include <algorithm>

#include "core/kernels/conv2d_chunks.hpp"
#include "core/kernels/conv2d_epilogue.hpp"
#include "core/kernels/conv2d_scratch.hpp"
#include "core/kernels/conv2d_weight_groups.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/im2col.hpp"

namespace convoy {
namespace {

// The band plan: the weight gradient's and the other passes' are the same bands.
bool accepts(const Conv2dGeometry& g, int) { return weight_plan(g).bands > 1 && use_shifted_rows(g); }

// Per thread: the rows, the result on the Wp-wide grid [Cout, rows * Wp], and the weights
// reordered [KH][Cout][KW][Cin].
struct Parts {
  ChunkPlan plan;
  ScratchSplit split;
  int64_t wp;
  float* rows(float* scratch, int t) const { return split.own(scratch, t); }
  float* grid(const Conv2dGeometry& g, float* scratch, int t) const {
    return rows(scratch, t) + shifted_rows_floats(g, plan.rows);
  }
  float* reordered(const Conv2dGeometry& g, float* scratch, int t) const {
    return grid(g, scratch, t) + g.out_channels * plan.rows * wp;
  }
};

Parts parts(const Conv2dGeometry& g, int threads) {
  const ChunkPlan plan = weight_plan(g);
  const int64_t wp = g.out_w + g.kernel_w - 1;
  const int64_t floats =
      shifted_rows_floats(g, plan.rows) + g.out_channels * plan.rows * wp + g.out_channels * g.patch();
  return {plan, split_scratch(floats, threads), wp};
}

int64_t pass_floats(const Conv2dGeometry& g, int threads) { return parts(g, threads).split.floats(0); }
int64_t weights_floats(const Conv2dGeometry& g, int threads) {
  return parts(g, threads).split.floats(weight_partials_floats(g, threads));
}

// weight [Cout, Cin, KH, KW] -> reordered [KH, Cout, KW, Cin], the A of the shifted-rows GEMMs.
void reorder_weight(const Conv2dGeometry& g, const float* weight, float* reordered) {
  for (int64_t kh = 0; kh < g.kernel_h; ++kh)
    for (int64_t co = 0; co < g.out_channels; ++co)
      for (int64_t kw = 0; kw < g.kernel_w; ++kw)
        for (int64_t ci = 0; ci < g.in_channels; ++ci)
          reordered[((kh * g.out_channels + co) * g.kernel_w + kw) * g.in_channels + ci] =
              weight[((co * g.in_channels + ci) * g.kernel_h + kh) * g.kernel_w + kw];
}

// One band of one sample: z [Cout, rows * Wp] on the wide grid, then the output rows from its
// first OW columns (+ bias, ReLU).
void forward_band(const Conv2dGeometry& g, const float* input, const float* reordered, const float* bias,
                  const Chunk& c, float* rows, float* z, float* output) {
  const int64_t wp = g.out_w + g.kernel_w - 1, band_rows = c.oy1 - c.oy0;
  const int64_t depth = g.kernel_w * g.in_channels, columns = band_rows * wp;
  // The shifted rows as views of one padded copy of the band, through a row table per kh:
  // z [Cout, columns] (+)= reordered[kh] [Cout, KW*Cin] * rows (kw, c) from column kh * Wp.
  const int64_t length = padded_band_length(g, band_rows);
  padded_band(g, input + c.n0 * g.in_channels * g.in_h * g.in_w, c.oy0, c.oy1, rows);
  const float** table = reinterpret_cast<const float**>(rows + (g.in_channels * length + 1) / 2 * 2);
  for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
    for (int64_t kw = 0; kw < g.kernel_w; ++kw)
      for (int64_t ci = 0; ci < g.in_channels; ++ci) table[kw * g.in_channels + ci] = rows + ci * length + kh * wp + kw;
    gemm_rows(g.out_channels, columns, depth, reordered + kh * g.out_channels * depth, depth, table,
              kh == 0 ? 0.0f : 1.0f, z, columns);
  }
  for (int64_t co = 0; co < g.out_channels; ++co) {
    const float b = bias != nullptr ? bias[co] : 0.0f;
    for (int64_t r = 0; r < band_rows; ++r)
      bias_relu(z + co * columns + r * wp, b, g.fused_relu, g.out_w,
                output + ((c.n0 * g.out_channels + co) * g.out_h + c.oy0 + r) * g.out_w);
  }
}

// The output gradient of a band on the Wp-wide grid: grad [Cout, rows * Wp], masked by the
// fused ReLU, junk columns 0. Adds per-channel sums to bias_sums if it is not null.
void gather_wide(const Conv2dGeometry& g, const float* output, const float* output_grad, const Chunk& c, float* grad,
                 float* bias_sums) {
  const int64_t wp = g.out_w + g.kernel_w - 1, band_rows = c.oy1 - c.oy0, columns = band_rows * wp;
  for (int64_t co = 0; co < g.out_channels; ++co) {
    float sum = 0.0f;
    for (int64_t r = 0; r < band_rows; ++r) {
      const int64_t at = ((c.n0 * g.out_channels + co) * g.out_h + c.oy0 + r) * g.out_w;
      float* dst = grad + co * columns + r * wp;
      relu_gradient(g, output, output_grad, at, g.out_w, dst);
      std::fill(dst + g.out_w, dst + wp, 0.0f);
      if (bias_sums == nullptr) continue;
#pragma omp simd reduction(+ : sum)
      for (int64_t x = 0; x < g.out_w; ++x) sum += dst[x];
    }
    if (bias_sums != nullptr) bias_sums[co] += sum;
  }
}

// One band of one sample's input gradient (the adjoint of forward_band): per kh, the gradient
// of the padded band += reordered[kh]^T [KW*Cin, Cout] * grad [Cout, rows * Wp] through a table
// of its overlapping rows (kw, c) from column kh * Wp + kw; then cropped onto the input. The
// first band overwrites the sample's gradient, the others add to it.
void data_band(const Conv2dGeometry& g, const float* output, const float* output_grad, const float* reordered,
               const Chunk& c, float* rows, float* grad, float* input_grad) {
  const int64_t wp = g.out_w + g.kernel_w - 1, band_rows = c.oy1 - c.oy0;
  const int64_t depth = g.kernel_w * g.in_channels, columns = band_rows * wp;
  const int64_t length = padded_band_length(g, band_rows);
  gather_wide(g, output, output_grad, c, grad, nullptr);
  std::fill(rows, rows + g.in_channels * length, 0.0f);
  float** table = reinterpret_cast<float**>(rows + (g.in_channels * length + 1) / 2 * 2);
  for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
    for (int64_t kw = 0; kw < g.kernel_w; ++kw)
      for (int64_t ci = 0; ci < g.in_channels; ++ci) table[kw * g.in_channels + ci] = rows + ci * length + kh * wp + kw;
    gemm_c_rows(Trans::yes, depth, columns, g.out_channels, reordered + kh * g.out_channels * depth, depth, grad,
                columns, table);
  }
  padded_band_adjoint(g, rows, c.oy0, c.oy1, c.oy0 > 0, input_grad + c.n0 * g.in_channels * g.in_h * g.in_w);
}

// One band of one sample's weight gradient with the transposed band (Note [Shifted rows]): the
// output gradient on the Wp-wide grid (junk columns 0) times the band, pixel-major.
void weights_band(const Conv2dGeometry& g, const float* input, const float* output, const float* output_grad,
                  const Chunk& c, float beta, float* rows, float* grad, float* partial, float* bias_sums) {
  const int64_t wp = g.out_w + g.kernel_w - 1, band_rows = c.oy1 - c.oy0, band = band_rows + g.kernel_h - 1;
  const int64_t depth = g.kernel_w * g.in_channels, columns = band_rows * wp, cout = g.out_channels;
  const int64_t length = band * wp + g.kernel_w - 1;
  float* transposed = rows + g.in_channels * length;
  transposed_band(g, input + c.n0 * g.in_channels * g.in_h * g.in_w, c.oy0, c.oy1, rows, transposed);
  gather_wide(g, output, output_grad, c, grad, bias_sums);
  // partial [Cout, (kh, kw, c)]: per kh, [Cout, KW*Cin] (+)= grad [Cout, columns] *
  // the transposed band from row kh * Wp [columns, KW*Cin] (row stride Cin).
  for (int64_t kh = 0; kh < g.kernel_h; ++kh)
    gemm(Trans::no, Trans::no, cout, depth, columns, grad, columns, transposed + kh * wp * g.in_channels, g.in_channels,
         beta, partial + kh * depth, g.patch());
}

void forward(const Conv2dGeometry& g, const Conv2dForwardArgs& a, float* scratch, int threads) {
  const Parts p = parts(g, threads);
#pragma omp parallel num_threads(clamp_threads(threads, p.plan.count))
  {
    const int t = omp_get_thread_num();
    reorder_weight(g, a.weight, p.reordered(g, scratch, t));
#pragma omp for schedule(static)
    for (int64_t i = 0; i < p.plan.count; ++i)
      forward_band(g, a.input, p.reordered(g, scratch, t), a.bias, p.plan.at(g, i), p.rows(scratch, t),
                   p.grid(g, scratch, t), a.output);
  }
}

void backward_data(const Conv2dGeometry& g, const Conv2dBackwardDataArgs& a, float* scratch, int threads) {
  const Parts p = parts(g, threads);
  // A sample's bands add into overlapping input rows, so one thread takes all of a sample's bands.
  const int64_t items = p.plan.count / p.plan.bands;
#pragma omp parallel num_threads(clamp_threads(threads, items))
  {
    const int t = omp_get_thread_num();
    reorder_weight(g, a.weight, p.reordered(g, scratch, t));
#pragma omp for schedule(static)
    for (int64_t item = 0; item < items; ++item)
      for (int64_t i = item * p.plan.bands; i < (item + 1) * p.plan.bands; ++i)
        data_band(g, a.output, a.output_grad, p.reordered(g, scratch, t), p.plan.at(g, i), p.rows(scratch, t),
                  p.grid(g, scratch, t), a.input_grad);
  }
}

void backward_weights(const Conv2dGeometry& g, const Conv2dBackwardWeightsArgs& a, float* scratch, int threads) {
  const Parts p = parts(g, threads);
  weight_grad_in_groups(g, PartialLayout::cout_major, p.split.shared(scratch), threads, a.weight_grad, a.bias_grad,
                        [&](int t, int64_t n0, int64_t n1, float* partial, float* bias_sums) {
                          const int64_t first = n0 * p.plan.bands, last = n1 * p.plan.bands;
                          for (int64_t i = first; i < last; ++i)
                            weights_band(g, a.input, a.output, a.output_grad, p.plan.at(g, i), i == first ? 0.0f : 1.0f,
                                         p.rows(scratch, t), p.grid(g, scratch, t), partial, bias_sums);
                        });
}

}  // namespace

const Conv2dForwardImpl kShiftedRowsForward = {"shifted-rows", accepts, pass_floats, forward};
const Conv2dBackwardDataImpl kShiftedRowsBackwardData = {"shifted-rows", accepts, pass_floats, backward_data};
const Conv2dBackwardWeightsImpl kShiftedRowsBackwardWeights = {"shifted-rows", accepts, weights_floats,
                                                               backward_weights};

}  // namespace convoy
