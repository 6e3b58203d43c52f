#include "core/kernels/conv2d_kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/alignment.hpp"
#include "core/error.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/gemm_dots.hpp"
#include "core/kernels/im2col.hpp"
#include "core/kernels/relu_max_pool.hpp"
#include "core/kernels/same_conv.hpp"
#include "core/kernels/sample_columns_conv.hpp"
#include "core/kernels/thread_count.hpp"
#include "core/kernels/tree_sum.hpp"
#include "core/kernels/winograd.hpp"
#include "core/kernels/winograd_transforms.hpp"

namespace convoy {
namespace {

// Note [Sample chunks]
// Each pass works through chunks: im2col of the chunk into col [patch, columns], then one GEMM.
// A chunk is either S whole samples side by side (columns = S * OH * OW), so that small outputs
// (keras-cnn's 3x3) fill the microkernel's 32 lanes, or, when one sample's output is large
// (ResNet's 56x56), a band of output rows of one sample, so that col (patch x columns) stays
// in L2 instead of streaming 7 MB per sample through memory.
//
// The weight gradient sums over the chunk's columns inside the GEMM, so its chunks depend only
// on the geometry (S a power of two up to kWeightGradGroup, never straddling a group): its bits
// never depend on the thread count. Forward and backward-data compute each column alone, the
// same way whatever the chunk, so their chunks may follow the thread count: about
// kChunkColumns columns, with a chunk count that splits evenly over the threads.
constexpr int64_t kChunkColumns = 512;
constexpr int64_t kBandAbove = 1024;  // output pixels per sample above which chunks are bands

// The row stride of a chunk's col and GEMM result: its columns rounded up to 16 floats, so that
// (the scratch being aligned) the rows the GEMM reads and writes in place start on cache lines.
// With 484 columns every 64-byte load of them spanned two lines.
int64_t padded_ld(int64_t columns) { return align_floats(columns); }

struct Chunk {
  int64_t n0, n1;    // samples [n0, n1)
  int64_t oy0, oy1;  // output rows [oy0, oy1) of each
  int64_t columns(const Conv2dGeometry& g) const { return (n1 - n0) * (oy1 - oy0) * g.out_w; }
  int64_t ld(const Conv2dGeometry& g) const { return padded_ld(columns(g)); }
};

struct ChunkPlan {
  int64_t samples = 1;  // per chunk, when rows == out_h
  int64_t rows = 0;     // output rows per chunk
  int64_t bands = 1;    // chunks per sample
  int64_t count = 0;    // chunks in all

  int64_t max_columns(const Conv2dGeometry& g) const { return padded_ld(samples * rows * g.out_w); }
  Chunk at(const Conv2dGeometry& g, int64_t i) const {
    if (bands > 1) {
      const int64_t oy0 = i % bands * rows;
      return {i / bands, i / bands + 1, oy0, std::min(g.out_h, oy0 + rows)};
    }
    return {i * samples, std::min(g.batch, (i + 1) * samples), 0, g.out_h};
  }
};

ChunkPlan banded(const Conv2dGeometry& g) {
  ChunkPlan p;
  p.rows = std::max<int64_t>(1, kChunkColumns / g.out_w);
  if (g.fused_pool) p.rows += p.rows % 2;  // whole pooling windows
  p.bands = (g.out_h + p.rows - 1) / p.rows;
  p.count = g.batch * p.bands;
  return p;
}

ChunkPlan samples_of(const Conv2dGeometry& g, int64_t samples) {
  ChunkPlan p;
  p.samples = samples;
  p.rows = g.out_h;
  p.count = (g.batch + samples - 1) / samples;
  return p;
}

ChunkPlan weight_plan(const Conv2dGeometry& g) {
  if (g.out_pixels() > kBandAbove) return banded(g);
  int64_t s = 1;
  while (s < kWeightGradGroup && s * g.out_pixels() < 128) s *= 2;
  return samples_of(g, s);
}

ChunkPlan pass_plan(const Conv2dGeometry& g, int threads) {
  if (g.out_pixels() > kBandAbove) return banded(g);
  const int64_t t = std::max(threads, 1);
  const int64_t columns = g.batch * g.out_pixels();
  const int64_t chunks = t * std::max<int64_t>(1, (columns + kChunkColumns * t - 1) / (kChunkColumns * t));
  return samples_of(g, std::max<int64_t>(1, (g.batch + chunks - 1) / chunks));
}

int64_t groups(const Conv2dGeometry& g) { return (g.batch + kWeightGradGroup - 1) / kWeightGradGroup; }

// Forward over a band with shifted rows (Note [Shifted rows]): the rows, the result on the
// Wp-wide grid [Cout, rows * Wp], and the weights reordered [KH][Cout][KW][Cin].
bool forward_shifted(const Conv2dGeometry& g, const ChunkPlan& plan) { return plan.bands > 1 && use_shifted_rows(g); }
int64_t shifted_floats(const Conv2dGeometry& g, const ChunkPlan& plan) {
  const int64_t wp = g.out_w + g.kernel_w - 1;
  return shifted_rows_floats(g, plan.rows) + g.out_channels * plan.rows * wp + g.out_channels * g.patch();
}

// Note [Same convolution] serves forward and backward-data of stride-1 `same` layers with
// enough channels to fill the tiles and planes that waste few of the 32-pixel strips' lanes.
bool use_same_conv(const Conv2dGeometry& g) {
  const int64_t pixels = g.out_pixels(), strips = (pixels + kSameConvStrip - 1) / kSameConvStrip;
  return same_conv_supported() && g.stride_h == 1 && g.stride_w == 1 && g.out_h == g.in_h && g.out_w == g.in_w &&
         !g.fused_pool && g.kernel_h * g.kernel_w <= kSameConvMaxTaps && g.in_channels >= 16 && g.out_channels >= 16 &&
         pixels >= 256 && strips * kSameConvStrip * 16 <= pixels * 17;
}

// Note [Winograd F(2x2, 3x3)] serves stride-1 3x3 layers with enough channels that the
// transforms are small beside the GEMMs; it comes before the same convolution, which then
// serves the other `same` kernels (1x1, 5x5, even sizes). Forward pools too (its tiles are the
// pooling windows); backward-data of a pooled layer stays with im2col, which unpools.
bool use_winograd(const Conv2dGeometry& g) {
  // An odd size computes a last row or column of tiles half in vain; at keras-cnn's 13x13 (11x11
  // output, 144 computed) that is worth it, at its 5x5 (3x3 output, 16 computed) it is not.
  auto little_waste = [](int64_t h, int64_t w) { return 4 * ((h + 1) / 2) * ((w + 1) / 2) * 4 <= 5 * h * w; };
  return winograd_supported() && g.kernel_h == 3 && g.kernel_w == 3 && g.stride_h == 1 && g.stride_w == 1 &&
         g.in_channels >= 16 && g.out_channels >= 16 && little_waste(g.out_h, g.out_w) &&
         little_waste(g.in_h, g.in_w);
}

WinogradShape winograd_shape(const Conv2dGeometry& g) {
  return {.batch = g.batch, .in_channels = g.in_channels, .in_h = g.in_h, .in_w = g.in_w,
          .out_channels = g.out_channels, .out_h = g.out_h, .out_w = g.out_w, .pad_top = g.pad_top,
          .pad_left = g.pad_left};
}

// On a narrow plane (Note [Winograd segments]) backward-data measured slower than the other
// kernels (keras-cnn's 13x13 layer: 138 GFLOP/s, im2col 140, samples as columns 145), while
// forward gains 40%.
bool use_winograd_backward_data(const Conv2dGeometry& g) {
  return use_winograd(g) && !g.fused_pool && !winograd_narrow(winograd_adjoint(winograd_shape(g)));
}

// Note [Winograd weight gradient]: wide planes, pooled or not. On keras-cnn's narrow 13x13
// layer it measured no faster than im2col (108-114 GFLOP/s against 103-115).
bool use_winograd_weights(const Conv2dGeometry& g) {
  return use_winograd(g) && !winograd_narrow(winograd_shape(g));
}

int64_t winograd_thread_floats(const Conv2dGeometry& g) {
  if (!use_winograd(g)) return 0;
  const WinogradShape s = winograd_shape(g);
  const int64_t weights = use_winograd_weights(g) ? winograd_weight_floats(s) : 0;
  return std::max({winograd_block_floats(s), winograd_block_floats(winograd_adjoint(s)), weights});
}

int64_t winograd_shared_floats(const Conv2dGeometry& g) {
  if (!use_winograd(g)) return 0;
  const WinogradShape s = winograd_shape(g);
  return std::max(winograd_packed_floats(s), winograd_packed_floats(winograd_adjoint(s)));
}

SameConvShape same_shape(const Conv2dGeometry& g) {
  return {.h = g.out_h, .w = g.out_w, .kernel_h = g.kernel_h, .kernel_w = g.kernel_w, .pad_top = g.pad_top,
          .pad_left = g.pad_left, .in_channels = g.in_channels, .out_channels = g.out_channels};
}

// A sample's strips in chunks of at most 16 (512 pixels), fixed by the geometry.
struct SameChunks {
  int64_t strips, per_sample;
  // Pixels [j0, j1) of a sample's chunk k.
  std::pair<int64_t, int64_t> pixels(const Conv2dGeometry& g, int64_t k) const {
    return {k * strips / per_sample * kSameConvStrip,
            std::min(g.out_pixels(), (k + 1) * strips / per_sample * kSameConvStrip)};
  }
};

SameChunks same_chunks(const Conv2dGeometry& g) {
  const int64_t strips = (g.out_pixels() + kSameConvStrip - 1) / kSameConvStrip;
  return {strips, (strips + 15) / 16};
}

// Backward-data's masked output gradient for one chunk: every row its pixels' taps reach.
int64_t same_band_floats(const Conv2dGeometry& g) {
  if (!use_same_conv(g)) return 0;
  const int64_t rows = 16 * kSameConvStrip / g.out_w + 2 + g.kernel_h - 1;
  return g.out_channels * std::min(rows, g.out_h) * g.out_w;
}

int64_t same_packed_floats(const Conv2dGeometry& g) {
  if (!use_same_conv(g)) return 0;
  const SameConvShape s = same_shape(g);
  return std::max(same_conv_packed_floats(s), same_conv_packed_floats(same_conv_adjoint(s)));
}

// Per-thread scratch: one chunk's col and one chunk's output or gradient [Cout, columns].
int64_t per_thread_floats(const Conv2dGeometry& g, int threads) {
  const ChunkPlan pass = pass_plan(g, threads);
  const int64_t cols = std::max(weight_plan(g).max_columns(g), pass.max_columns(g));
  int64_t floats =
      std::max({g.patch() * cols + g.out_channels * cols, same_band_floats(g), winograd_thread_floats(g)});
  if (forward_shifted(g, pass)) floats = std::max(floats, shifted_floats(g, pass));
  return align_floats(floats);
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

// One thread's part of the scratch (per_thread_floats): the im2col matrix or the shifted rows,
// then the chunk's output or gradient, then (shifted rows) the reordered weights.
struct ThreadScratch {
  float* col;
  float* chunk;
  float* reordered;
};

ThreadScratch thread_scratch(const Conv2dGeometry& g, const ChunkPlan& plan, float* scratch, int threads,
                             bool shifted) {
  float* col = scratch + omp_get_thread_num() * per_thread_floats(g, threads);
  if (!shifted) return {col, col + g.patch() * plan.max_columns(g), nullptr};
  float* chunk = col + shifted_rows_floats(g, plan.rows);
  return {col, chunk, chunk + g.out_channels * plan.rows * (g.out_w + g.kernel_w - 1)};
}

// One band of one sample with shifted rows: z [Cout, rows * Wp] on the wide grid, then the
// output rows from its first OW columns (+ bias, ReLU).
void forward_band_shifted(const Conv2dGeometry& g, const float* input, const float* reordered, const float* bias,
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
    for (int64_t r = 0; r < band_rows; ++r) {
      const float* __restrict from = z + co * columns + r * wp;
      float* __restrict o = output + ((c.n0 * g.out_channels + co) * g.out_h + c.oy0 + r) * g.out_w;
      if (g.fused_relu) {
#pragma omp simd
        for (int64_t x = 0; x < g.out_w; ++x) o[x] = std::max(from[x] + b, 0.0f);
      } else {
#pragma omp simd
        for (int64_t x = 0; x < g.out_w; ++x) o[x] = from[x] + b;
      }
    }
  }
}

// One weight-gradient group's partial sums: dW^T [patch, Cout] (dW [Cout, patch] with shifted
// rows), then the bias [Cout].
int64_t partial_floats(const Conv2dGeometry& g) { return (g.patch() + 1) * g.out_channels; }

// im2col of every sample of the chunk, side by side in col [patch, columns].
void chunk_im2col(const Conv2dGeometry& g, const float* input, const Chunk& c, float* col) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w, per_sample = (c.oy1 - c.oy0) * g.out_w;
  const int64_t ld = c.ld(g);
  for (int64_t n = c.n0; n < c.n1; ++n) im2col(g, input + n * in_size, c.oy0, c.oy1, col + (n - c.n0) * per_sample, ld);
}

// The gradient reaching the convolution through the fused ReLU (Note [Fused ReLU]): the n floats
// of output_grad from `at` where the output is positive, 0 elsewhere; without the ReLU, a copy
// (output may then be null).
void relu_gradient(const Conv2dGeometry& g, const float* output, const float* output_grad, int64_t at, int64_t n,
                   float* __restrict dst) {
  const float* __restrict og = output_grad + at;
  if (!g.fused_relu) {
    std::memcpy(dst, og, n * sizeof(float));
    return;
  }
  const float* __restrict y = output + at;
#pragma omp simd
  for (int64_t p = 0; p < n; ++p) dst[p] = y[p] > 0.0f ? og[p] : 0.0f;
}

// Gathers into grad [Cout, columns] the gradient reaching the convolution over the chunk:
// output_grad, masked by the fused ReLU's output (Note [Fused ReLU]) or routed through the
// fused pool (Note [Fused pooling]). If bias_sums is not null, adds each sample's per-channel
// gradient sum to it (in sample order), so the bias gradient costs no second pass.
void gather_output_grad(const Conv2dGeometry& g, const float* output, const float* output_grad,
                        const uint8_t* pool_winners, const Chunk& c, float* grad, float* bias_sums) {
  const int64_t ohw = g.out_pixels(), per_sample = (c.oy1 - c.oy0) * g.out_w;
  const int64_t ld = c.ld(g), pooled = g.pooled_h() * g.pooled_w();
  for (int64_t n = c.n0; n < c.n1; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co) {
      float* __restrict dst = grad + co * ld + (n - c.n0) * per_sample;
      float sum = 0.0f;
      if (g.fused_pool) {
        const int64_t plane = (n * g.out_channels + co) * pooled;
        sum = unpool_rows(g, pool_winners + plane, output_grad + plane, c.oy0, c.oy1, dst);
      } else {
        const int64_t at = (n * g.out_channels + co) * ohw + c.oy0 * g.out_w;
        relu_gradient(g, output, output_grad, at, per_sample, dst);
        if (bias_sums == nullptr) continue;
#pragma omp simd reduction(+ : sum)
        for (int64_t p = 0; p < per_sample; ++p) sum += dst[p];
      }
      if (bias_sums != nullptr) bias_sums[co] += sum;
    }
}

// Writes the chunk's output from z [Cout, columns] (the GEMM's result): + bias, then the fused
// ReLU, or the fused ReLU and pool.
void write_output(const Conv2dGeometry& g, const float* z, const float* bias, const Chunk& c, float* output,
                  uint8_t* pool_winners) {
  const int64_t ohw = g.out_pixels(), per_sample = (c.oy1 - c.oy0) * g.out_w;
  const int64_t ld = c.ld(g), pooled = g.pooled_h() * g.pooled_w();
  for (int64_t n = c.n0; n < c.n1; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co) {
      const float* __restrict from = z + co * ld + (n - c.n0) * per_sample;
      const float b = bias != nullptr ? bias[co] : 0.0f;
      if (g.fused_pool) {
        const int64_t plane = (n * g.out_channels + co) * pooled;
        relu_max_pool_rows(g, from, c.oy0, c.oy1, b, output + plane, pool_winners + plane);
        continue;
      }
      float* __restrict o = output + (n * g.out_channels + co) * ohw + c.oy0 * g.out_w;
      if (g.fused_relu) {
#pragma omp simd
        for (int64_t p = 0; p < per_sample; ++p) o[p] = std::max(from[p] + b, 0.0f);
      } else {
#pragma omp simd
        for (int64_t p = 0; p < per_sample; ++p) o[p] = from[p] + b;
      }
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

// One band of one sample's input gradient with shifted rows (the adjoint of
// forward_band_shifted): per kh, the gradient of the padded band += reordered[kh]^T
// [KW*Cin, Cout] * grad [Cout, rows * Wp] through a table of its overlapping rows (kw, c) from
// column kh * Wp + kw; then cropped onto the input. The first band overwrites the sample's
// gradient, the others add to it.
void data_band_shifted(const Conv2dGeometry& g, const float* output, const float* output_grad,
                       const float* reordered, const Chunk& c, float* rows, float* grad, float* input_grad) {
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
void weights_band_shifted(const Conv2dGeometry& g, const float* input, const float* output, const float* output_grad,
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
    gemm(Trans::no, Trans::no, cout, depth, columns, grad, columns, transposed + kh * wp * g.in_channels,
         g.in_channels, beta, partial + kh * depth, g.patch());
}

}  // namespace

Conv2dKernelNames conv2d_kernel_names(const Conv2dGeometry& g, int threads) {
  const bool shifted = forward_shifted(g, pass_plan(g, threads));
  const char* forward = use_winograd(g)         ? "winograd"
                        : use_sample_columns(g) ? "sample-columns"
                        : use_same_conv(g)      ? "same"
                        : shifted               ? "shifted-rows"
                                                : "im2col";
  const char* backward_data = use_winograd_backward_data(g)         ? "winograd"
                              : use_sample_columns_backward_data(g) ? "sample-columns"
                              : use_same_conv(g)                    ? "same"
                              : shifted                             ? "shifted-rows"
                                                                    : "im2col";
  const char* backward_weights = use_winograd_weights(g)                   ? "winograd"
                                 : forward_shifted(g, weight_plan(g)) ? "shifted-rows"
                                                                            : "im2col";
  return {forward, backward_data, backward_weights};
}

int64_t conv2d_scratch_floats(const Conv2dGeometry& g, int threads) {
  // Per thread: col + output/gradient chunk (or Winograd's V and M); then one partial per
  // weight-gradient group, or the packed weights of a same convolution or of Winograd, or all
  // that samples as columns need.
  return static_cast<int64_t>(std::max(threads, 1)) * per_thread_floats(g, threads) +
         std::max({groups(g) * partial_floats(g), same_packed_floats(g), winograd_shared_floats(g),
                   sample_columns_floats(g, threads)});
}

namespace {

float* shared_scratch(const Conv2dGeometry& g, float* scratch, int threads) {
  return scratch + static_cast<int64_t>(std::max(threads, 1)) * per_thread_floats(g, threads);
}

// The passes that pack their weights first (the same convolution, Winograd): pack(t) for each
// of `tiles` weight tiles into the shared scratch, then body(the thread's scratch, item) for
// every item, in one parallel region.
template <typename Pack, typename Body>
void pack_then_items(const Conv2dGeometry& g, float* scratch, int threads, int64_t tiles, Pack pack, int64_t items,
                     Body body) {
#pragma omp parallel num_threads(clamp_threads(threads, items))
  {
    float* own = scratch + omp_get_thread_num() * per_thread_floats(g, threads);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) pack(t);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < items; ++i) body(own, i);
  }
}

// Note [Same convolution]: the weights packed once per call (forward's, or with adjoint
// backward-data's), then body(packed, the thread's scratch, sample, j0, j1) for every chunk
// [j0, j1) of every sample.
template <typename Body>
void for_same_chunks(const Conv2dGeometry& g, const float* weight, bool adjoint, float* scratch, int threads,
                     Body body) {
  const SameConvShape s = same_shape(g);
  const SameChunks chunks = same_chunks(g);
  const int64_t items = g.batch * chunks.per_sample, tiles = same_conv_tile_count(adjoint ? same_conv_adjoint(s) : s);
  float* packed = shared_scratch(g, scratch, threads);
  pack_then_items(
      g, scratch, threads, tiles, [&](int64_t t) { same_conv_pack(s, weight, adjoint, t, packed); }, items,
      [&](float* own, int64_t i) {
        const auto [j0, j1] = chunks.pixels(g, i % chunks.per_sample);
        body(packed, own, i / chunks.per_sample, j0, j1);
      });
}

// Forward straight from the input to the output.
void same_conv_forward(const Conv2dGeometry& g, const float* input, const float* weight, const float* bias,
                       float* output, float* scratch, int threads) {
  const SameConvShape s = same_shape(g);
  const int64_t plane = g.out_pixels();
  for_same_chunks(g, weight, false, scratch, threads,
                  [&](const float* packed, float*, int64_t n, int64_t j0, int64_t j1) {
                    same_conv_pixels(s, packed, input + n * g.in_channels * plane, plane, bias, g.fused_relu, j0,
                                     j1, output + n * g.out_channels * plane, plane);
                  });
}

// Backward-data as the adjoint same convolution of the output gradient (masked by the fused
// ReLU into a band of the rows the chunk's taps reach, else read in place).
void same_conv_backward_data(const Conv2dGeometry& g, const float* output, const float* output_grad,
                             const float* weight, float* input_grad, float* scratch, int threads) {
  const SameConvShape adjoint = same_conv_adjoint(same_shape(g));
  const int64_t plane = g.out_pixels();
  for_same_chunks(g, weight, true, scratch, threads,
                  [&](const float* packed, float* band, int64_t n, int64_t j0, int64_t j1) {
                    const float* src = output_grad + n * g.out_channels * plane;
                    int64_t ld = plane;
                    if (g.fused_relu) {
                      const int64_t lo = std::max<int64_t>(0, j0 / g.out_w - adjoint.pad_top);
                      const int64_t hi = std::min(g.out_h, (j1 - 1) / g.out_w + g.kernel_h - adjoint.pad_top);
                      ld = (hi - lo) * g.out_w;
                      for (int64_t co = 0; co < g.out_channels; ++co)
                        relu_gradient(g, output, output_grad, (n * g.out_channels + co) * plane + lo * g.out_w, ld,
                                      band + co * ld);
                      src = band - lo * g.out_w;  // pixel p of the plane at src[p] for the band's rows
                    }
                    same_conv_pixels(adjoint, packed, src, ld, nullptr, false, j0, j1,
                                     input_grad + n * g.in_channels * plane, plane);
                  });
}

// Note [Winograd F(2x2, 3x3)]: the weights transformed once per call (forward's, or with
// adjoint backward-data's), then every block of tiles from src into out.
void winograd_pass(const Conv2dGeometry& g, const float* weight, bool adjoint, const float* src, const float* gate,
                   const float* bias, float* out, uint8_t* winners, float* scratch, int threads) {
  const WinogradShape forward = winograd_shape(g), s = adjoint ? winograd_adjoint(forward) : forward;
  float* packed = shared_scratch(g, scratch, threads);
  const auto pack = [&](int64_t t) { winograd_pack(forward, weight, adjoint, t, packed); };
  pack_then_items(g, scratch, threads, winograd_pack_tiles(s), pack, winograd_blocks(s), [&](float* own, int64_t b) {
    winograd_block(s, packed, src, gate, bias, g.fused_relu && !adjoint, b, own, out, winners);
  });
}

// The scratch a pass was given, checked in debug builds against what it needs: computing the
// need plans the chunks again, too much for every call of a release build.
float* checked_scratch(const Conv2dGeometry& g, std::span<float> scratch, int threads) {
  CONVOY_DEBUG_ASSERT(static_cast<int64_t>(scratch.size()) >= conv2d_scratch_floats(g, threads), "convolution scratch of ",
                      scratch.size(), " floats, the pass needs ", conv2d_scratch_floats(g, threads));
  return scratch.data();
}

}  // namespace

// Forward and backward-data take the first kernel that serves the geometry: Winograd (3x3,
// stride 1), samples as columns (small planes), the same convolution (other `same` layers),
// else im2col and the GEMM, or shifted rows on wide planes. Backward-weights: Winograd on wide
// planes, else shifted rows or im2col (conv2d_kernel_names says which).
void conv2d_forward(const Conv2dGeometry& g, const float* input, const float* weight, const float* bias,
                    float* output, std::span<float> scratch_buffer, int threads, uint8_t* pool_winners) {
  float* scratch = checked_scratch(g, scratch_buffer, threads);
  if (use_winograd(g)) {
    winograd_pass(g, weight, false, input, nullptr, bias, output, g.fused_pool ? pool_winners : nullptr, scratch,
                  threads);
    return;
  }
  if (use_sample_columns(g)) {
    sample_columns_forward(g, input, weight, bias, output, shared_scratch(g, scratch, threads), threads,
                           pool_winners);
    return;
  }
  if (use_same_conv(g)) {
    same_conv_forward(g, input, weight, bias, output, scratch, threads);
    return;
  }
  const ChunkPlan plan = pass_plan(g, threads);
  const bool shifted = forward_shifted(g, plan);
#pragma omp parallel num_threads(clamp_threads(threads, plan.count))
  {
    const ThreadScratch ts = thread_scratch(g, plan, scratch, threads, shifted);
    float *col = ts.col, *z = ts.chunk;
    if (shifted) reorder_weight(g, weight, ts.reordered);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < plan.count; ++i) {
      const Chunk c = plan.at(g, i);
      if (shifted) {
        forward_band_shifted(g, input, ts.reordered, bias, c, col, z, output);
        continue;
      }
      const int64_t ld = c.ld(g);
      chunk_im2col(g, input, c, col);
      // z [Cout, columns] = weight [Cout, patch] * col [patch, columns]
      gemm(Trans::no, Trans::no, g.out_channels, c.columns(g), g.patch(), weight, g.patch(), col, ld, 0.0f, z, ld);
      write_output(g, z, bias, c, output, pool_winners);
    }
  }
}

void conv2d_backward_data(const Conv2dGeometry& g, const float* output, const float* output_grad,
                          const float* weight, float* input_grad, std::span<float> scratch_buffer, int threads,
                          const uint8_t* pool_winners) {
  float* scratch = checked_scratch(g, scratch_buffer, threads);
  if (use_winograd_backward_data(g)) {
    winograd_pass(g, weight, true, output_grad, g.fused_relu ? output : nullptr, nullptr, input_grad, nullptr, scratch,
                  threads);
    return;
  }
  if (use_sample_columns_backward_data(g)) {
    sample_columns_backward_data(g, output, output_grad, weight, input_grad, shared_scratch(g, scratch, threads),
                                 threads);
    return;
  }
  if (use_same_conv(g)) {
    same_conv_backward_data(g, output, output_grad, weight, input_grad, scratch, threads);
    return;
  }
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const ChunkPlan plan = pass_plan(g, threads);
  // A sample's bands add into overlapping input rows, so one thread takes all of a sample's
  // chunks: the work items are whole samples' chunks.
  const int64_t items = plan.count / plan.bands;
  const bool shifted = forward_shifted(g, plan);
#pragma omp parallel num_threads(clamp_threads(threads, items))
  {
    const ThreadScratch ts = thread_scratch(g, plan, scratch, threads, shifted);
    float *col = ts.col, *og = ts.chunk;
    if (shifted) reorder_weight(g, weight, ts.reordered);
#pragma omp for schedule(static)
    for (int64_t item = 0; item < items; ++item) {
      for (int64_t i = item * plan.bands; i < (item + 1) * plan.bands; ++i) {
        const Chunk c = plan.at(g, i);
        if (shifted) {
          data_band_shifted(g, output, output_grad, ts.reordered, c, col, og, input_grad);
          continue;
        }
        const int64_t per_sample = (c.oy1 - c.oy0) * g.out_w, ld = c.ld(g);
        gather_output_grad(g, output, output_grad, pool_winners, c, og, nullptr);
        // col [patch, columns] = weight^T [patch, Cout] * output_grad [Cout, columns]
        gemm(Trans::yes, Trans::no, g.patch(), c.columns(g), g.out_channels, weight, g.patch(), og, ld, 0.0f, col, ld);
        // The first band overwrites the sample's gradient, the others add to it.
        for (int64_t n = c.n0; n < c.n1; ++n)
          col2im(g, col + (n - c.n0) * per_sample, ld, c.oy0, c.oy1, c.oy0 > 0, input_grad + n * in_size);
      }
    }
  }
}

void conv2d_backward_weights(const Conv2dGeometry& g, const float* input, const float* output,
                             const float* output_grad, float* weight_grad, float* bias_grad,
                             std::span<float> scratch_buffer, int threads, const uint8_t* pool_winners) {
  float* scratch = checked_scratch(g, scratch_buffer, threads);
  const int64_t patch = g.patch(), cout = g.out_channels;
  const ChunkPlan plan = weight_plan(g);
  const int64_t group_count = groups(g);
  // Partials are dW^T [(c, kh, kw), Cout] with im2col, dW [Cout, (kh, kw, c)] with shifted rows.
  const bool winograd = use_winograd_weights(g), shifted = !winograd && forward_shifted(g, plan);
  float* partials = scratch + static_cast<int64_t>(std::max(threads, 1)) * per_thread_floats(g, threads);
#pragma omp parallel num_threads(clamp_threads(threads, group_count))
  {
    const ThreadScratch ts = thread_scratch(g, plan, scratch, threads, shifted);
    float *col = ts.col, *og = ts.chunk;
    // Note [Weight-gradient groups]
    // Each group's partial dW^T [patch, Cout] sums its chunks
    // in order; written by one thread; the groups are added in a fixed tree below.
#pragma omp for schedule(static)
    for (int64_t group = 0; group < group_count; ++group) {
      float* partial = partials + group * partial_floats(g);
      float* bias_sums = partial + patch * cout;
      std::fill(bias_sums, bias_sums + cout, 0.0f);
      // Chunks never straddle a group: S divides kWeightGradGroup, bands are within a sample.
      const int64_t g0 = group * kWeightGradGroup, g1 = std::min(g.batch, g0 + kWeightGradGroup);
      if (winograd) {
        const bool gated = g.fused_relu && !g.fused_pool;  // pooled: the winner codes gate
        winograd_weight_grad(winograd_shape(g), input, output_grad, gated ? output : nullptr,
                             g.fused_pool ? pool_winners : nullptr, g0, g1,
                             scratch + omp_get_thread_num() * per_thread_floats(g, threads), partial, bias_sums);
        continue;
      }
      const int64_t first = g0 * plan.bands / plan.samples, last = (g1 * plan.bands + plan.samples - 1) / plan.samples;
      for (int64_t i = first; i < last; ++i) {
        const Chunk c = plan.at(g, i);
        const float beta = i == first ? 0.0f : 1.0f;
        if (shifted) {
          weights_band_shifted(g, input, output, output_grad, c, beta, col, og, partial, bias_sums);
          continue;
        }
        const int64_t ld = c.ld(g), columns = c.columns(g);
        chunk_im2col(g, input, c, col);
        gather_output_grad(g, output, output_grad, pool_winners, c, og, bias_sums);
        // partial [patch, Cout] (+)= col [patch, columns] * output_grad^T [columns, Cout]
        if (prefer_gemm_dots(patch, cout, columns))
          gemm_dots(patch, cout, columns, col, ld, og, ld, beta, partial, cout);
        else
          gemm(Trans::no, Trans::yes, patch, cout, columns, col, ld, og, ld, beta, partial, cout);
      }
    }
    // The groups' partials are added in the fixed tree (Note [Fixed summation tree]), each
    // thread a slice of the elements; then weight_grad [Cout, patch] and bias_grad [Cout] +=
    // the sum, transposed, each element by one thread.
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t n = partial_floats(g), j0 = n * t / nt, j1 = n * (t + 1) / nt;
    tree_sum_in_place(partials + j0, group_count, j1 - j0, partial_floats(g));
#pragma omp barrier
#pragma omp for schedule(static)
    for (int64_t co = 0; co < cout; ++co) {
      float* wg = weight_grad + co * patch;
      if (shifted) {
        const int64_t taps = g.kernel_h * g.kernel_w;
        const float* row = partials + co * patch;
        for (int64_t ci = 0; ci < g.in_channels; ++ci)
          for (int64_t t = 0; t < taps; ++t) wg[ci * taps + t] += row[t * g.in_channels + ci];
      } else {
        for (int64_t k = 0; k < patch; ++k) wg[k] += partials[k * cout + co];
      }
      if (bias_grad != nullptr) bias_grad[co] += partials[patch * cout + co];
    }
  }
}

}  // namespace convoy
