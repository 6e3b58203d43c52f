#include "core/kernels/pointwise_conv.hpp"

#include <algorithm>
#include <cstring>

#include "core/kernels/conv2d_chunks.hpp"
#include "core/kernels/conv2d_epilogue.hpp"
#include "core/kernels/conv2d_scratch.hpp"
#include "core/kernels/conv2d_weight_groups.hpp"
#include "core/kernels/gemm.hpp"

namespace convoy {
namespace {

bool accepts(const Conv2dGeometry& g, int) {
  return g.kernel_h == 1 && g.kernel_w == 1 && g.pad_top == 0 && g.pad_left == 0 && g.stride_h == g.stride_w &&
         g.out_h == (g.in_h - 1) / g.stride_h + 1 && g.out_w == (g.in_w - 1) / g.stride_w + 1 && !g.fused_pool;
}

// A sample's GEMM is as wide as its plane, and on small planes too narrow to pay: there the
// entries whose GEMMs span samples (im2col, samples as columns) won, measured with `convoy bench
// --shapes --every-kernel` at 1 and 2 threads on GoogLeNet's and ResNet-18's 1x1 layers at 64x64
// and 224x224 inputs (this machine's AVX-512 Xeon). Backward-data won from 8x8 outputs up (1.3-1.6x
// at 8x8, 192 channels), lost by 10-20% at 5x5 to 7x7 and by 1.7-6x at 4x4 and 2x2; the weight
// gradient won from 5x5 up and lost by 10-15% at 4x4 and 1.7x at 2x2.
bool wide_enough(const Conv2dGeometry& g) { return g.out_pixels() >= 64; }

bool accepts_backward_data(const Conv2dGeometry& g, int threads) { return accepts(g, threads) && wide_enough(g); }

bool accepts_weights(const Conv2dGeometry& g, int threads) { return accepts(g, threads) && g.out_pixels() > 16; }

bool strided(const Conv2dGeometry& g) { return g.stride_h > 1; }

// Forward of stride 1 measured no faster than the same convolution (which reads the input in
// place too) or im2col (on planes too small for it): it serves strided layers only, and like
// backward-data from 8x8 outputs up (im2col was 1.1-1.3x faster at 7x7, 4-7x at 2x2).
bool accepts_forward(const Conv2dGeometry& g, int threads) {
  return accepts(g, threads) && strided(g) && wide_enough(g);
}

// Bands of whole output rows of one sample: the whole sample up to kBandAbove pixels, else
// about kChunkColumns pixels each, as the other GEMM passes (Note [Sample chunks]).
struct Bands {
  int64_t rows, per_sample, count;
  Chunk at(const Conv2dGeometry& g, int64_t i) const {
    const int64_t n = i / per_sample, oy0 = i % per_sample * rows;
    return {n, n + 1, oy0, std::min(g.out_h, oy0 + rows)};
  }
};

Bands bands(const Conv2dGeometry& g) {
  const int64_t rows = g.out_pixels() <= kBandAbove ? g.out_h : std::max<int64_t>(1, kChunkColumns / g.out_w);
  const int64_t per_sample = (g.out_h + rows - 1) / rows;
  return {rows, per_sample, g.batch * per_sample};
}

// Per thread: the gathered input band [Cin, ld] (strided only) and the band's output gradient or
// backward-data's result [max(Cout, Cin), ld].
ScratchSplit split(const Conv2dGeometry& g, int threads) {
  const int64_t ld = padded_ld(bands(g).rows * g.out_w);
  return split_scratch((strided(g) ? g.in_channels * ld : 0) + std::max(g.in_channels, g.out_channels) * ld, threads);
}

int64_t pass_floats(const Conv2dGeometry& g, int threads) { return split(g, threads).floats(0); }
int64_t weights_floats(const Conv2dGeometry& g, int threads) {
  return split(g, threads).floats(weight_partials_floats(g, threads));
}

// The input B of a band: in place with stride 1 (returns its row stride in *ld), else the
// subsampled pixels gathered into band [Cin, c.ld(g)].
const float* input_band(const Conv2dGeometry& g, const float* input, const Chunk& c, float* band, int64_t* ld) {
  const float* image = input + c.n0 * g.in_channels * g.in_h * g.in_w;
  if (!strided(g)) {
    *ld = g.in_h * g.in_w;
    return image + c.oy0 * g.out_w;
  }
  *ld = c.ld(g);
  const int64_t s = g.stride_h;
  for (int64_t ci = 0; ci < g.in_channels; ++ci)
    for (int64_t oy = c.oy0; oy < c.oy1; ++oy) {
      const float* __restrict from = image + (ci * g.in_h + oy * s) * g.in_w;
      float* __restrict to = band + ci * *ld + (oy - c.oy0) * g.out_w;
      for (int64_t ox = 0; ox < g.out_w; ++ox) to[ox] = from[ox * s];
    }
  return band;
}

void forward(const Conv2dGeometry& g, const Conv2dForwardArgs& a, float* scratch, int threads) {
  const Bands b = bands(g);
  const ScratchSplit s = split(g, threads);
  const int64_t plane = g.out_pixels();
#pragma omp parallel for num_threads(clamp_threads(threads, b.count)) schedule(static)
  for (int64_t i = 0; i < b.count; ++i) {
    const Chunk c = b.at(g, i);
    int64_t ldb = 0;
    const float* x = input_band(g, a.input, c, s.own(scratch, omp_get_thread_num()), &ldb);
    float* y = a.output + c.n0 * g.out_channels * plane + c.oy0 * g.out_w;
    const int64_t columns = c.columns(g);
    // y [Cout, columns] = weight [Cout, Cin] * x [Cin, columns], in the output's rows
    gemm(Trans::no, Trans::no, g.out_channels, columns, g.in_channels, a.weight, g.in_channels, x, ldb, 0.0f, y, plane);
    for (int64_t co = 0; co < g.out_channels; ++co)
      bias_relu_in_place(a.bias != nullptr ? a.bias[co] : 0.0f, g.fused_relu, columns, y + co * plane);
  }
}

void backward_data(const Conv2dGeometry& g, const Conv2dBackwardDataArgs& a, float* scratch, int threads) {
  const Bands b = bands(g);
  const ScratchSplit s = split(g, threads);
  const int64_t in_plane = g.in_h * g.in_w, st = g.stride_h;
#pragma omp parallel for num_threads(clamp_threads(threads, b.count)) schedule(static)
  for (int64_t i = 0; i < b.count; ++i) {
    const Chunk c = b.at(g, i);
    const int64_t ld = c.ld(g), columns = c.columns(g);
    float* og = s.own(scratch, omp_get_thread_num()) + (strided(g) ? g.in_channels * ld : 0);
    gather_output_grad(g, a.output, a.output_grad, nullptr, c, og, nullptr);
    float* image = a.input_grad + c.n0 * g.in_channels * in_plane;
    if (!strided(g)) {
      // input_grad [Cin, columns] = weight^T [Cin, Cout] * og [Cout, columns], in the gradient's rows
      gemm(Trans::yes, Trans::no, g.in_channels, columns, g.out_channels, a.weight, g.in_channels, og, ld, 0.0f,
           image + c.oy0 * g.in_w, in_plane);
      continue;
    }
    // The band's input rows [oy0 * s, oy1 * s) (the last band: to the end) get the result at the
    // subsampled pixels and 0 elsewhere.
    float* result = s.own(scratch, omp_get_thread_num());
    gemm(Trans::yes, Trans::no, g.in_channels, columns, g.out_channels, a.weight, g.in_channels, og, ld, 0.0f, result,
         ld);
    const int64_t iy0 = c.oy0 * st, iy1 = c.oy1 == g.out_h ? g.in_h : c.oy1 * st;
    for (int64_t ci = 0; ci < g.in_channels; ++ci) {
      float* rows = image + (ci * g.in_h + iy0) * g.in_w;
      std::memset(rows, 0, (iy1 - iy0) * g.in_w * sizeof(float));
      for (int64_t oy = c.oy0; oy < c.oy1; ++oy) {
        const float* __restrict from = result + ci * ld + (oy - c.oy0) * g.out_w;
        float* __restrict to = rows + (oy - c.oy0) * st * g.in_w;
        for (int64_t ox = 0; ox < g.out_w; ++ox) to[ox * st] = from[ox];
      }
    }
  }
}

void backward_weights(const Conv2dGeometry& g, const Conv2dBackwardWeightsArgs& a, float* scratch, int threads) {
  const Bands b = bands(g);
  const ScratchSplit s = split(g, threads);
  weight_grad_in_groups(g, PartialLayout::cout_major, s.shared(scratch), threads, a.weight_grad, a.bias_grad,
                        [&](int t, int64_t n0, int64_t n1, float* partial, float* bias_sums) {
                          float* band = s.own(scratch, t);
                          float* og = band + (strided(g) ? g.in_channels * padded_ld(b.rows * g.out_w) : 0);
                          for (int64_t i = n0 * b.per_sample; i < n1 * b.per_sample; ++i) {
                            const Chunk c = b.at(g, i);
                            int64_t ldx = 0;
                            const float* x = input_band(g, a.input, c, band, &ldx);
                            gather_output_grad(g, a.output, a.output_grad, nullptr, c, og, bias_sums);
                            // partial [Cout, Cin] (+)= og [Cout, columns] * x^T [columns, Cin]
                            gemm(Trans::no, Trans::yes, g.out_channels, g.in_channels, c.columns(g), og, c.ld(g), x,
                                 ldx, i == n0 * b.per_sample ? 0.0f : 1.0f, partial, g.in_channels);
                          }
                        });
}

}  // namespace

const Conv2dForwardImpl kPointwiseForward = {"1x1-gemm", accepts_forward, pass_floats, forward};
const Conv2dBackwardDataImpl kPointwiseBackwardData = {"1x1-gemm", accepts_backward_data, pass_floats, backward_data};
const Conv2dBackwardWeightsImpl kPointwiseBackwardWeights = {"1x1-gemm", accepts_weights, weights_floats,
                                                             backward_weights};

}  // namespace convoy
