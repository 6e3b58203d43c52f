#include "core/kernels/sample_columns_conv.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/alignment.hpp"
#include "core/kernels/cpu_features.hpp"
#include "core/kernels/gemm_microkernels.hpp"
#include "core/kernels/relu_max_pool.hpp"
#include "core/kernels/thread_count.hpp"

namespace convoy {
namespace {

constexpr int64_t kColumns = 32;  // samples per block: the microkernel's width
constexpr int64_t kMaxTaps = 64;  // kernels up to 8x8

struct Layout {
  int64_t blocks, taps, in_pixels, out_pixels;
  int64_t target_rows;  // forward: Cout, backward-data: Cin, in whole register tiles
  int64_t depth;        // per tap: Cin, or Cout
};

Layout layout(const Conv2dGeometry& g, bool adjoint) {
  const MicroKernelInfo mk = microkernel_for(Isa::avx512);
  const RowSplit split = split_rows(adjoint ? g.in_channels : g.out_channels, mk);
  return {.blocks = (g.batch + kColumns - 1) / kColumns,
          .taps = g.kernel_h * g.kernel_w,
          .in_pixels = g.in_h * g.in_w,
          .out_pixels = g.out_pixels(),
          .target_rows = split.padded(),
          .depth = adjoint ? g.out_channels : g.in_channels};
}

// Scratch: packed A, then the source transposed [block][depth][pixel][32], then the target
// [block][target rows][pixel][32]; then, backward-data with the fused ReLU, the output
// transposed; forward with the fused pool, the full-size output [N, Cout, OH, OW] before it is
// pooled; last, each thread's row table (Note [Samples as columns]). Each part starts on a
// 16-float boundary.
struct Buffers {
  float *packed, *source, *target, *gate, *full;
  const float** tables;
  int64_t source_block, target_block, end;
};

// A thread's row table: taps x depth pointers, in floats (two a pointer), and in pointers.
static_assert(sizeof(const float*) == 2 * sizeof(float));
int64_t table_floats(const Layout& l) { return align_floats(2 * l.taps * l.depth); }
int64_t table_entries(const Layout& l) { return table_floats(l) / 2; }

Buffers buffers(const Conv2dGeometry& g, bool adjoint, int threads, float* scratch) {
  const Layout l = layout(g, adjoint);
  const int64_t source_pixels = adjoint ? l.out_pixels : l.in_pixels,
                target_pixels = adjoint ? l.in_pixels : l.out_pixels;
  Buffers b{};
  b.source_block = l.depth * source_pixels * kColumns;
  b.target_block = l.target_rows * target_pixels * kColumns;
  b.packed = scratch;
  b.source = b.packed + align_floats(l.target_rows * l.taps * l.depth);
  b.target = b.source + l.blocks * b.source_block;
  b.gate = b.target + l.blocks * b.target_block;
  b.full = b.gate + (adjoint && g.fused_relu ? l.blocks * b.source_block : 0);
  float* tables = b.full + (!adjoint && g.fused_pool ? align_floats(g.batch * g.out_channels * l.out_pixels) : 0);
  b.tables = reinterpret_cast<const float**>(tables);
  b.end = (tables - scratch) + std::max(threads, 1) * table_floats(l);
  return b;
}

// A_tap in the microkernel's panels, [tile][tap][depth][height]: forward's A_tap [Cout, Cin]
// is weight[:, :, tap]; backward-data's [Cin, Cout] its transpose. Read in the weight's order.
void pack(const Conv2dGeometry& g, const float* weight, bool adjoint, int64_t tile, float* packed) {
  const Layout l = layout(g, adjoint);
  const RowTile rt = split_rows(adjoint ? g.in_channels : g.out_channels, microkernel_for(Isa::avx512)).at(tile);
  // Locals, so the stores below need not reload them (they might alias g).
  const int64_t targets = adjoint ? g.in_channels : g.out_channels, cin = g.in_channels;
  const int64_t taps = l.taps, depth = l.depth, height = rt.height;
  float* panel = packed + rt.row * taps * depth;
  for (int64_t i = 0; i < height; ++i) {
    const int64_t m = rt.row + i;
    for (int64_t k = 0; k < depth; ++k)
      for (int64_t tap = 0; tap < taps; ++tap) {
        // A_tap [m, k]: forward's weight[m, k, tap], backward-data's weight[k, m, tap].
        const float w = m >= targets ? 0.0f
                        : adjoint    ? weight[(k * cin + m) * taps + tap]
                                     : weight[(m * cin + k) * taps + tap];
        panel[(tap * depth + k) * height + i] = w;
      }
  }
}

// [n][q] for samples [n0, n0 + 32) -> [q][32] (missing samples 0), and back.
void samples_to_columns(const float* src, int64_t per_sample, int64_t samples, float* out) {
  microkernel_for(Isa::avx512).pack_transposed(src, per_sample, samples, per_sample, kColumns, out);
}

void columns_to_samples(const float* src, int64_t per_sample, int64_t samples, float* out) {
  microkernel_for(Isa::avx512).pack_transposed(src, kColumns, per_sample, samples, per_sample, out);
}

alignas(64) constexpr float kZeroRow[kColumns] = {};

// One target pixel of one block: C [target rows][pixel][32] = A [rows, taps x depth] . B, whose
// row (tap, k) is the source pixel the tap reaches, channel k's 32 samples. A deep source
// (depth 32 and more) takes one microkernel call per tap that reaches the source, adding into
// C; a shallow one (lenet5: 6 channels) lists every tap's rows in the table, zeros where a tap
// falls outside, for one call with the whole depth (a call per tap would sum 6 terms).
void pixel_product(const Conv2dGeometry& g, bool adjoint, const float* packed, const float* source, int64_t y,
                   int64_t x, const float** table, float* target) {
  const Layout l = layout(g, adjoint);
  const MicroKernelInfo mk = microkernel_for(Isa::avx512);
  const RowSplit split = split_rows(adjoint ? g.in_channels : g.out_channels, mk);
  const int64_t source_w = adjoint ? g.out_w : g.in_w, source_h = adjoint ? g.out_h : g.in_h;
  const int64_t target_pixels = adjoint ? l.in_pixels : l.out_pixels, source_pixels = source_h * source_w;
  const int64_t pixel = y * (adjoint ? g.in_w : g.out_w) + x, depth = l.depth;
  const bool per_tap = depth >= 32;
  int64_t reached = 0;  // taps that reach the source
  const float* rows[kMaxTaps];
  for (int64_t kh = 0; kh < g.kernel_h; ++kh)
    for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
      // Forward reads input (y - pad + kh, x - pad + kw); backward-data output (y + pad - kh, x + pad - kw).
      const int64_t sy = adjoint ? y + g.pad_top - kh : y - g.pad_top + kh;
      const int64_t sx = adjoint ? x + g.pad_left - kw : x - g.pad_left + kw;
      const bool inside = sy >= 0 && sy < source_h && sx >= 0 && sx < source_w;
      const float* row = source + (sy * source_w + sx) * kColumns;
      const int64_t tap = kh * g.kernel_w + kw;
      rows[tap] = inside ? row : nullptr;
      reached += inside;
      if (!per_tap)
        for (int64_t k = 0; k < depth; ++k)
          table[tap * depth + k] = inside ? row + k * source_pixels * kColumns : kZeroRow;
    }
  for (int64_t t = 0; t < split.count(); ++t) {
    const RowTile rt = split.at(t);
    const float* a = packed + rt.row * l.taps * depth;
    float* c = target + (rt.row * target_pixels + pixel) * kColumns;
    const int64_t ldc = target_pixels * kColumns;
    if (!per_tap) {
      (rt.height == mk.mr ? mk.kernel_rows : mk.kernel_rows_short)(l.taps * depth, a, table, 0, c, ldc, false);
      continue;
    }
    const MicroKernel kernel = rt.height == mk.mr ? mk.kernel : mk.kernel_short;
    bool written = false;
    for (int64_t tap = 0; tap < l.taps; ++tap) {
      if (rows[tap] == nullptr) continue;
      kernel(depth, a + tap * depth * rt.height, rows[tap], source_pixels * kColumns, c, ldc, written);
      written = true;
    }
    if (reached == 0)
      for (int64_t i = 0; i < rt.height; ++i) std::memset(c + i * ldc, 0, kColumns * sizeof(float));
  }
}

// The pass: pack A and transpose the source in (gated by the fused ReLU for backward-data),
// every target pixel of every block, the target transposed out (forward: plus the bias, then
// the fused ReLU, while the block's samples are in cache).
void sample_columns_pass(const Conv2dGeometry& g, bool adjoint, const float* weight, const float* src,
                         const float* gate, const float* bias, float* dst, uint8_t* winners, float* scratch,
                         int threads) {
  const Layout l = layout(g, adjoint);
  const Buffers b = buffers(g, adjoint, threads, scratch);
  const int64_t tiles = split_rows(adjoint ? g.in_channels : g.out_channels, microkernel_for(Isa::avx512)).count();
  const int64_t source_per_sample = b.source_block / kColumns;
  const int64_t target_h = adjoint ? g.in_h : g.out_h, target_w = adjoint ? g.in_w : g.out_w;
  const int64_t target_per_sample = (adjoint ? g.in_channels : g.out_channels) * target_h * target_w;
  const int64_t pixels = target_h * target_w;
  // With the fused pool, forward's full-size output goes to scratch first.
  const bool pooled = !adjoint && g.fused_pool;
  float* full = pooled ? b.full : dst;
#pragma omp parallel num_threads(clamp_threads(threads, l.blocks * pixels))
  {
    const float** table = b.tables + omp_get_thread_num() * table_entries(l);
#pragma omp for schedule(static) nowait
    for (int64_t t = 0; t < tiles; ++t) pack(g, weight, adjoint, t, b.packed);
#pragma omp for schedule(static)
    for (int64_t block = 0; block < l.blocks; ++block) {
      const int64_t n0 = block * kColumns, samples = std::min(kColumns, g.batch - n0);
      float* source = b.source + block * b.source_block;
      samples_to_columns(src + n0 * source_per_sample, source_per_sample, samples, source);
      if (gate != nullptr) {
        float* open = b.gate + block * b.source_block;
        samples_to_columns(gate + n0 * source_per_sample, source_per_sample, samples, open);
        for (int64_t i = 0; i < b.source_block; ++i) source[i] = open[i] > 0.0f ? source[i] : 0.0f;
      }
    }
#pragma omp for schedule(static)
    for (int64_t item = 0; item < l.blocks * pixels; ++item) {
      const int64_t block = item / pixels, pixel = item % pixels;
      pixel_product(g, adjoint, b.packed, b.source + block * b.source_block, pixel / target_w, pixel % target_w, table,
                    b.target + block * b.target_block);
    }
#pragma omp for schedule(static)
    for (int64_t block = 0; block < l.blocks; ++block) {
      const int64_t n0 = block * kColumns, samples = std::min(kColumns, g.batch - n0);
      columns_to_samples(b.target + block * b.target_block, target_per_sample, samples, full + n0 * target_per_sample);
      if (adjoint) continue;
      const int64_t pooled_plane = g.pooled_h() * g.pooled_w();
      for (int64_t n = n0; n < n0 + samples; ++n)
        for (int64_t co = 0; co < g.out_channels; ++co) {
          float* y = full + (n * g.out_channels + co) * pixels;
          const float add = bias != nullptr ? bias[co] : 0.0f;
          if (pooled) {
            const int64_t at = (n * g.out_channels + co) * pooled_plane;
            relu_max_pool_rows(g, y, 0, g.out_h, add, dst + at, winners + at);
            continue;
          }
          for (int64_t p = 0; p < pixels; ++p) y[p] = g.fused_relu ? std::max(y[p] + add, 0.0f) : y[p] + add;
        }
    }
  }
}

bool accepts(const Conv2dGeometry& g) {
  // Worth it where im2col's copies are large beside the product: small planes, and deep
  // enough patches that one microkernel call per pixel has a long sum (lenet5's second layer:
  // 150; keras-cnn's third: 576).
  return active_isa() == Isa::avx512 && g.stride_h == 1 && g.stride_w == 1 && g.out_pixels() <= 128 &&
         g.kernel_h * g.kernel_w <= kMaxTaps && g.in_h * g.in_w <= 256 && g.patch() >= 64 && g.out_channels >= 16;
}

// A 1x1 layer's im2col is a plain copy of the input: forward measured as fast or up to 1.6x
// faster with it (GoogLeNet's 1x1 layers from 8x8 down to 2x2; Note [1x1 convolutions as GEMMs]
// for where backward-data comes here).
bool accepts_forward(const Conv2dGeometry& g, int) { return accepts(g) && g.kernel_h * g.kernel_w > 1; }

bool accepts_backward_data(const Conv2dGeometry& g, int) { return accepts(g) && !g.fused_pool && g.in_channels >= 16; }

int64_t forward_floats(const Conv2dGeometry& g, int threads) { return buffers(g, false, threads, nullptr).end; }
int64_t backward_data_floats(const Conv2dGeometry& g, int threads) { return buffers(g, true, threads, nullptr).end; }

void forward(const Conv2dGeometry& g, const Conv2dForwardArgs& a, float* scratch, int threads) {
  sample_columns_pass(g, false, a.weight, a.input, nullptr, a.bias, a.output, a.pool_winners, scratch, threads);
}

void backward_data(const Conv2dGeometry& g, const Conv2dBackwardDataArgs& a, float* scratch, int threads) {
  sample_columns_pass(g, true, a.weight, a.output_grad, g.fused_relu ? a.output : nullptr, nullptr, a.input_grad,
                      nullptr, scratch, threads);
}

}  // namespace

const Conv2dForwardImpl kSampleColumnsForward = {"sample-columns", accepts_forward, forward_floats, forward};
const Conv2dBackwardDataImpl kSampleColumnsBackwardData = {"sample-columns", accepts_backward_data,
                                                           backward_data_floats, backward_data};

}  // namespace convoy
