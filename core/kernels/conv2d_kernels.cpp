#include "core/kernels/conv2d_kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/kernels/gemm.hpp"

namespace convoy {
namespace {

// Note [im2col layout]
// col [Cin*KH*KW, OH*OW]: row (c, kh, kw) holds, for every output pixel, the input value that
// kernel tap meets (zero in the padding).
// ld is col's row stride: chunks of samples sit side by side (Note [Sample chunks]).
void im2col(const Conv2dGeometry& g, const float* image, float* col, int64_t ld) {
  const int64_t ohw = ld;
  for (int64_t c = 0; c < g.in_channels; ++c) {
    const float* plane = image + c * g.in_h * g.in_w;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        float* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * ohw;
        for (int64_t oy = 0; oy < g.out_h; ++oy) {
          const int64_t iy = oy * g.stride_h - g.pad_top + kh;
          float* out = row + oy * g.out_w;
          if (iy < 0 || iy >= g.in_h) {
            std::fill(out, out + g.out_w, 0.0f);
            continue;
          }
          const float* in = plane + iy * g.in_w;
          if (g.stride_w == 1) {
            // Interior pixels are one contiguous copy; only the edges meet padding.
            const int64_t x0 = std::clamp<int64_t>(g.pad_left - kw, 0, g.out_w);
            const int64_t x1 = std::clamp<int64_t>(g.in_w + g.pad_left - kw, x0, g.out_w);
            std::fill(out, out + x0, 0.0f);
            std::memcpy(out + x0, in + x0 - g.pad_left + kw, (x1 - x0) * sizeof(float));
            std::fill(out + x1, out + g.out_w, 0.0f);
            continue;
          }
          for (int64_t ox = 0; ox < g.out_w; ++ox) {
            const int64_t ix = ox * g.stride_w - g.pad_left + kw;
            out[ox] = (ix >= 0 && ix < g.in_w) ? in[ix] : 0.0f;
          }
        }
      }
    }
  }
}

// The adjoint of im2col for one sample: image [Cin, H, W] = sum of col entries per input pixel.
void col2im(const Conv2dGeometry& g, const float* col, int64_t ld, float* image) {
  const int64_t ohw = ld;
  std::fill(image, image + g.in_channels * g.in_h * g.in_w, 0.0f);
  for (int64_t c = 0; c < g.in_channels; ++c) {
    float* plane = image + c * g.in_h * g.in_w;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const float* row = col + ((c * g.kernel_h + kh) * g.kernel_w + kw) * ohw;
        for (int64_t oy = 0; oy < g.out_h; ++oy) {
          const int64_t iy = oy * g.stride_h - g.pad_top + kh;
          if (iy < 0 || iy >= g.in_h) continue;
          float* in = plane + iy * g.in_w;
          const float* out = row + oy * g.out_w;
          for (int64_t ox = 0; ox < g.out_w; ++ox) {
            const int64_t ix = ox * g.stride_w - g.pad_left + kw;
            if (ix >= 0 && ix < g.in_w) in[ix] += out[ox];
          }
        }
      }
    }
  }
}

// Note [Sample chunks]
// Small outputs (keras-cnn's 3x3) would use a few of the microkernel's 32 lanes, so samples are
// processed in chunks of S placed side by side: col [patch, S*OHW], output and gradient
// [Cout, S*OHW]. S is a power of two up to kWeightGradGroup, so chunks never straddle a
// weight-gradient group, and depends only on the geometry, so the bits do not depend on the
// thread count.
int64_t chunk_samples(const Conv2dGeometry& g) {
  int64_t s = 1;
  while (s < kWeightGradGroup && s * g.out_pixels() < 128) s *= 2;
  return s;
}

// Gathers the gradient reaching the convolution for samples [n0, n1) into chunk [Cout, S*OHW]:
// output_grad, masked by the fused ReLU's output (Note [Fused ReLU]).
// If bias_sums is not null, adds each sample's per-channel gradient sum to it (in sample
// order), so the bias gradient costs no second pass over the activations.
void gather_output_grad(const Conv2dGeometry& g, const float* output, const float* output_grad, int64_t n0,
                        int64_t n1, float* chunk, float* bias_sums) {
  const int64_t ohw = g.out_pixels(), ld = (n1 - n0) * ohw;
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co) {
      const float* og = output_grad + (n * g.out_channels + co) * ohw;
      float* dst = chunk + co * ld + (n - n0) * ohw;
      if (g.fused_relu) {
        const float* y = output + (n * g.out_channels + co) * ohw;
#pragma omp simd
        for (int64_t p = 0; p < ohw; ++p) dst[p] = y[p] > 0.0f ? og[p] : 0.0f;
      } else {
        std::memcpy(dst, og, ohw * sizeof(float));
      }
      if (bias_sums != nullptr) {
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int64_t p = 0; p < ohw; ++p) sum += dst[p];
        bias_sums[co] += sum;
      }
    }
}

int clamp_threads(int threads, int64_t work_items) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, work_items)));
}

int64_t groups(const Conv2dGeometry& g) { return (g.batch + kWeightGradGroup - 1) / kWeightGradGroup; }

// Per-thread scratch: one chunk's im2col matrix and one chunk's output or gradient.
int64_t per_thread_floats(const Conv2dGeometry& g) {
  const int64_t cols = chunk_samples(g) * g.out_pixels();
  const int64_t chunks = g.fused_pool ? 2 : 1;  // the recomputed convolution besides the gradient
  return (g.patch() * cols + chunks * g.out_channels * cols + 15) / 16 * 16;
}

// Recomputes the convolution of a chunk whose im2col is in col, and writes into grad
// [Cout, S*OHW] the gradient reaching the convolution: each pooled gradient goes to the
// position of its window's maximum (the first, as max_pool2d's backward does) if that
// position passed the ReLU, everything else is 0. z is scratch [Cout, S*OHW].
void unpool_output_grad(const Conv2dGeometry& g, const float* col, const float* weight, const float* bias,
                        const float* output_grad, int64_t n0, int64_t n1, float* z, float* grad,
                        float* bias_sums) {
  const int64_t ohw = g.out_pixels(), ld = (n1 - n0) * ohw, ph = g.pooled_h(), pw = g.pooled_w();
  gemm(Trans::no, Trans::no, g.out_channels, ld, g.patch(), weight, g.patch(), col, ld, 0.0f, z, ld);
  for (int64_t n = n0; n < n1; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co) {
      const float b = bias != nullptr ? bias[co] : 0.0f;
      const float* zp = z + co * ld + (n - n0) * ohw;
      float* gp = grad + co * ld + (n - n0) * ohw;
      const float* og = output_grad + (n * g.out_channels + co) * ph * pw;
      std::fill(gp, gp + ohw, 0.0f);
      float sum = 0.0f;
      for (int64_t oy = 0; oy < ph; ++oy)
        for (int64_t ox = 0; ox < pw; ++ox) {
          const int64_t at0 = 2 * oy * g.out_w + 2 * ox;
          const int64_t at[4] = {at0, at0 + 1, at0 + g.out_w, at0 + g.out_w + 1};
          int64_t best = at[0];
          float best_value = std::max(zp[at[0]] + b, 0.0f);
          for (int i = 1; i < 4; ++i) {
            const float v = std::max(zp[at[i]] + b, 0.0f);
            if (v > best_value) best_value = v, best = at[i];
          }
          const float v = best_value > 0.0f ? og[oy * pw + ox] : 0.0f;
          gp[best] = v;
          sum += v;
        }
      if (bias_sums != nullptr) bias_sums[co] += sum;
    }
}

}  // namespace

// One weight-gradient group's partial sums: dW^T [patch, Cout], then the bias [Cout].
int64_t partial_floats(const Conv2dGeometry& g) { return (g.patch() + 1) * g.out_channels; }

int64_t conv2d_scratch_floats(const Conv2dGeometry& g, int threads) {
  // Per thread: col + output/gradient chunk; then one partial per weight-gradient group.
  return static_cast<int64_t>(std::max(threads, 1)) * per_thread_floats(g) + groups(g) * partial_floats(g);
}

void conv2d_forward(const Conv2dGeometry& g, const float* input, const float* weight, const float* bias,
                    float* output, float* scratch, int threads) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const int64_t ohw = g.out_pixels();
  const int64_t s = chunk_samples(g), chunks = (g.batch + s - 1) / s;
#pragma omp parallel num_threads(clamp_threads(threads, chunks))
  {
    float* col = scratch + omp_get_thread_num() * per_thread_floats(g);
    float* out = col + g.patch() * s * ohw;
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t n0 = c * s, n1 = std::min(g.batch, n0 + s), ld = (n1 - n0) * ohw;
      for (int64_t n = n0; n < n1; ++n) im2col(g, input + n * in_size, col + (n - n0) * ohw, ld);
      // out [Cout, S*OHW] = weight [Cout, patch] * col [patch, S*OHW]; one sample writes in place.
      float* result = n1 - n0 == 1 && !g.fused_pool ? output + n0 * g.out_channels * ohw : out;
      gemm(Trans::no, Trans::no, g.out_channels, ld, g.patch(), weight, g.patch(), col, ld, 0.0f, result, ld);
      if (g.fused_pool) {
        const int64_t ph = g.pooled_h(), pw = g.pooled_w();
        for (int64_t n = n0; n < n1; ++n)
          for (int64_t co = 0; co < g.out_channels; ++co) {
            const float* z = result + co * ld + (n - n0) * ohw;
            float* o = output + (n * g.out_channels + co) * ph * pw;
            const float b = bias != nullptr ? bias[co] : 0.0f;
            for (int64_t oy = 0; oy < ph; ++oy) {
              const float* top = z + 2 * oy * g.out_w;
              const float* bottom = top + g.out_w;
              for (int64_t ox = 0; ox < pw; ++ox) {
                const float m = std::max(std::max(top[2 * ox], top[2 * ox + 1]), std::max(bottom[2 * ox], bottom[2 * ox + 1]));
                o[oy * pw + ox] = std::max(m + b, 0.0f);
              }
            }
          }
        continue;
      }
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t co = 0; co < g.out_channels; ++co) {
          const float* from = result + co * ld + (n - n0) * ohw;
          float* o = output + (n * g.out_channels + co) * ohw;
          const float b = bias != nullptr ? bias[co] : 0.0f;
          if (g.fused_relu) {
#pragma omp simd
            for (int64_t p = 0; p < ohw; ++p) o[p] = std::max(from[p] + b, 0.0f);
          } else {
#pragma omp simd
            for (int64_t p = 0; p < ohw; ++p) o[p] = from[p] + b;
          }
        }
    }
  }
}

void conv2d_backward_data(const Conv2dGeometry& g, const float* output, const float* output_grad,
                          const float* weight, float* input_grad, float* scratch, int threads, const float* input,
                          const float* bias) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const int64_t ohw = g.out_pixels();
  const int64_t s = chunk_samples(g), chunks = (g.batch + s - 1) / s;
#pragma omp parallel num_threads(clamp_threads(threads, chunks))
  {
    float* col = scratch + omp_get_thread_num() * per_thread_floats(g);
    float* og = col + g.patch() * s * ohw;
#pragma omp for schedule(static)
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t n0 = c * s, n1 = std::min(g.batch, n0 + s), ld = (n1 - n0) * ohw;
      if (g.fused_pool) {
        for (int64_t n = n0; n < n1; ++n) im2col(g, input + n * in_size, col + (n - n0) * ohw, ld);
        unpool_output_grad(g, col, weight, bias, output_grad, n0, n1, og + g.out_channels * s * ohw, og, nullptr);
      } else {
        gather_output_grad(g, output, output_grad, n0, n1, og, nullptr);
      }
      // col [patch, S*OHW] = weight^T [patch, Cout] * output_grad [Cout, S*OHW]
      gemm(Trans::yes, Trans::no, g.patch(), ld, g.out_channels, weight, g.patch(), og, ld, 0.0f, col, ld);
      for (int64_t n = n0; n < n1; ++n) col2im(g, col + (n - n0) * ohw, ld, input_grad + n * in_size);
    }
  }
}

void conv2d_backward_weights(const Conv2dGeometry& g, const float* input, const float* output,
                             const float* output_grad, float* weight_grad, float* bias_grad, float* scratch,
                             int threads, const float* weight, const float* bias) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const int64_t ohw = g.out_pixels(), patch = g.patch(), cout = g.out_channels;
  const int64_t s = chunk_samples(g);
  const int64_t group_count = groups(g);
  float* partials = scratch + static_cast<int64_t>(std::max(threads, 1)) * per_thread_floats(g);
#pragma omp parallel num_threads(clamp_threads(threads, group_count))
  {
    float* col = scratch + omp_get_thread_num() * per_thread_floats(g);
    float* og = col + patch * s * ohw;
    // Note [Weight-gradient groups]: each group's partial dW^T [patch, Cout] sums its chunks
    // in order; written by one thread; the groups are added in order below.
#pragma omp for schedule(static)
    for (int64_t group = 0; group < group_count; ++group) {
      float* partial = partials + group * partial_floats(g);
      float* bias_sums = partial + patch * cout;
      std::fill(bias_sums, bias_sums + cout, 0.0f);
      const int64_t g0 = group * kWeightGradGroup, g1 = std::min(g.batch, g0 + kWeightGradGroup);
      for (int64_t n0 = g0; n0 < g1; n0 += s) {
        const int64_t n1 = std::min(g1, n0 + s), ld = (n1 - n0) * ohw;
        for (int64_t n = n0; n < n1; ++n) im2col(g, input + n * in_size, col + (n - n0) * ohw, ld);
        if (g.fused_pool)
          unpool_output_grad(g, col, weight, bias, output_grad, n0, n1, og + cout * s * ohw, og, bias_sums);
        else
          gather_output_grad(g, output, output_grad, n0, n1, og, bias_sums);
        // partial [patch, Cout] (+)= col [patch, S*OHW] * output_grad^T [S*OHW, Cout]
        gemm(Trans::no, Trans::yes, patch, cout, ld, col, ld, og, ld, n0 == g0 ? 0.0f : 1.0f, partial, cout);
      }
    }
    // weight_grad [Cout, patch] and bias_grad [Cout] += the groups' partials in group order,
    // each element by one thread.
#pragma omp for schedule(static)
    for (int64_t co = 0; co < cout; ++co) {
      float* wg = weight_grad + co * patch;
      for (int64_t group = 0; group < group_count; ++group) {
        const float* partial = partials + group * partial_floats(g);
        for (int64_t k = 0; k < patch; ++k) wg[k] += partial[k * cout + co];
        if (bias_grad != nullptr) bias_grad[co] += partial[patch * cout + co];
      }
    }
  }
}

}  // namespace convoy
