#include "core/kernels/conv2d_kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>

#include "core/kernels/gemm.hpp"

namespace convoy {
namespace {

// Note [im2col layout]
// col [Cin*KH*KW, OH*OW]: row (c, kh, kw) holds, for every output pixel, the input value that
// kernel tap meets (zero in the padding). Rows of one input channel depend on that channel
// only, which lets backward-weights split rows over threads without sharing.

// Fills rows [channel_begin*KH*KW, channel_end*KH*KW) of col for one sample.
// image [Cin, H, W]; col rows as in Note [im2col layout], packed from channel_begin.
void im2col(const Conv2dGeometry& g, const float* image, int64_t channel_begin, int64_t channel_end,
            float* col) {
  const int64_t ohw = g.out_pixels();
  for (int64_t c = channel_begin; c < channel_end; ++c) {
    const float* plane = image + c * g.in_h * g.in_w;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
        float* row = col + (((c - channel_begin) * g.kernel_h + kh) * g.kernel_w + kw) * ohw;
        for (int64_t oy = 0; oy < g.out_h; ++oy) {
          const int64_t iy = oy * g.stride_h - g.pad_top + kh;
          float* out = row + oy * g.out_w;
          if (iy < 0 || iy >= g.in_h) {
            std::fill(out, out + g.out_w, 0.0f);
            continue;
          }
          const float* in = plane + iy * g.in_w;
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
void col2im(const Conv2dGeometry& g, const float* col, float* image) {
  const int64_t ohw = g.out_pixels();
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

int clamp_threads(int threads, int64_t work_items) {
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, work_items)));
}

}  // namespace

int64_t conv2d_scratch_floats(const Conv2dGeometry& g, int threads) {
  return static_cast<int64_t>(std::max(threads, 1)) * g.patch() * g.out_pixels();
}

void conv2d_forward(const Conv2dGeometry& g, const float* input, const float* weight, const float* bias,
                    float* output, float* scratch, int threads) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const int64_t out_size = g.out_channels * g.out_pixels();
  const int64_t col_size = g.patch() * g.out_pixels();
#pragma omp parallel num_threads(clamp_threads(threads, g.batch))
  {
    float* col = scratch + omp_get_thread_num() * col_size;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.batch; ++n) {
      im2col(g, input + n * in_size, 0, g.in_channels, col);
      float* out = output + n * out_size;
      // out [Cout, OHW] = weight [Cout, patch] * col [patch, OHW]
      gemm(Trans::no, Trans::no, g.out_channels, g.out_pixels(), g.patch(), weight, g.patch(), col,
           g.out_pixels(), 0.0f, out, g.out_pixels());
      if (bias != nullptr) {
        for (int64_t co = 0; co < g.out_channels; ++co) {
          float* o = out + co * g.out_pixels();
          for (int64_t p = 0; p < g.out_pixels(); ++p) o[p] += bias[co];
        }
      }
    }
  }
}

void conv2d_backward_data(const Conv2dGeometry& g, const float* output_grad, const float* weight,
                          float* input_grad, float* scratch, int threads) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const int64_t out_size = g.out_channels * g.out_pixels();
  const int64_t col_size = g.patch() * g.out_pixels();
#pragma omp parallel num_threads(clamp_threads(threads, g.batch))
  {
    float* col = scratch + omp_get_thread_num() * col_size;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < g.batch; ++n) {
      // col [patch, OHW] = weight^T [patch, Cout] * output_grad [Cout, OHW]
      gemm(Trans::yes, Trans::no, g.patch(), g.out_pixels(), g.out_channels, weight, g.patch(),
           output_grad + n * out_size, g.out_pixels(), 0.0f, col, g.out_pixels());
      col2im(g, col, input_grad + n * in_size);
    }
  }
}

void conv2d_backward_weights(const Conv2dGeometry& g, const float* input, const float* output_grad,
                             float* weight_grad, float* bias_grad, float* scratch, int threads) {
  const int64_t in_size = g.in_channels * g.in_h * g.in_w;
  const int64_t out_size = g.out_channels * g.out_pixels();
  const int64_t taps = g.kernel_h * g.kernel_w;
#pragma omp parallel num_threads(clamp_threads(threads, g.in_channels))
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    // This thread owns input channels [c0, c1): columns [c0*taps, c1*taps) of weight_grad.
    const int64_t c0 = g.in_channels * t / nt;
    const int64_t c1 = g.in_channels * (t + 1) / nt;
    float* col = scratch + c0 * taps * g.out_pixels();
    for (int64_t n = 0; n < g.batch && c1 > c0; ++n) {
      im2col(g, input + n * in_size, c0, c1, col);
      // weight_grad[:, cols] += output_grad [Cout, OHW] * col^T [OHW, cols]
      gemm(Trans::no, Trans::yes, g.out_channels, (c1 - c0) * taps, g.out_pixels(), output_grad + n * out_size,
           g.out_pixels(), col, g.out_pixels(), 1.0f, weight_grad + c0 * taps, g.patch());
    }
    if (bias_grad != nullptr) {
#pragma omp for schedule(static)
      for (int64_t co = 0; co < g.out_channels; ++co) {
        float sum = 0.0f;
        for (int64_t n = 0; n < g.batch; ++n) {
          const float* o = output_grad + n * out_size + co * g.out_pixels();
          for (int64_t p = 0; p < g.out_pixels(); ++p) sum += o[p];
        }
        bias_grad[co] += sum;
      }
    }
  }
}

}  // namespace convoy
