#include "core/kernels/batch_norm_kernels.hpp"

#include <omp.h>

#include <algorithm>

#include "core/kernels/cpu_features.hpp"
#include "core/kernels/simd.hpp"
#include "core/kernels/thread_count.hpp"
#include "core/kernels/tree_sum.hpp"

namespace convoy {
namespace {

int64_t group_count(int64_t n) { return (n + kWeightGradGroup - 1) / kWeightGradGroup; }

// Per thread, kScratchPerGroup doubles a group: two group sums, and room for the gradient
// pass to convert them to floats.
constexpr int64_t kScratchPerGroup = 3;

enum class Pass { sums, centered_sums, gradient_sums, affine, input_grad };

// Every operand of every pass; a pass reads the ones it names. Tensors [n, channels, plane],
// per-channel vectors [channels].
struct Operands {
  ChannelBlock b;
  const float *x = nullptr, *dy = nullptr, *gate = nullptr, *residual = nullptr;
  const float *mean = nullptr, *inv_std = nullptr, *k = nullptr, *scale = nullptr, *shift = nullptr;
  const float *mean_dy = nullptr, *mean_dy_xhat = nullptr;
  bool relu = false;
  float *y = nullptr, *dx = nullptr, *residual_grad = nullptr, *gamma_grad = nullptr, *beta_grad = nullptr;
  double *out0 = nullptr, *out1 = nullptr;  // per-channel sums
};

// The gradient sums of one row with AVX-512 (the compiler keeps the masked loop below scalar,
// with a branch per element): 16 floats a step, the ReLU mask as a vector mask, xhat in float
// as below, the two sums in 2 x 8 double lanes added in the order _mm512_reduce_add_pd fixes.
__attribute__((target("avx512f,avx512dq"))) inline void gradient_row_avx512(const float* dy, const float* gate,
                                                                            const float* x, float m, float k,
                                                                            int64_t plane, double& r0, double& r1) {
  __m512d a0 = _mm512_setzero_pd(), a1 = _mm512_setzero_pd(), d0 = _mm512_setzero_pd(), d1 = _mm512_setzero_pd();
  const __m512 vm = _mm512_set1_ps(m), vk = _mm512_set1_ps(k), zero = _mm512_setzero_ps();
  for (int64_t j = 0; j < plane; j += 16) {
    const __mmask16 in = plane - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (plane - j)) - 1);
    const __m512 d = _mm512_maskz_loadu_ps(in, dy + j);
    const __mmask16 on =
        gate == nullptr ? in : _mm512_mask_cmp_ps_mask(in, _mm512_maskz_loadu_ps(in, gate + j), zero, _CMP_GT_OQ);
    const __m512 g = _mm512_maskz_mov_ps(on, d);
    const __m512 xhat = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(in, x + j), vm), vk);
    const __m512d g_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(g));
    const __m512d g_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(g), 1)));
    const __m512d x_lo = _mm512_cvtps_pd(_mm512_castps512_ps256(xhat));
    const __m512d x_hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(xhat), 1)));
    a0 = _mm512_add_pd(a0, g_lo);
    a1 = _mm512_add_pd(a1, g_hi);
    d0 = _mm512_fmadd_pd(g_lo, x_lo, d0);
    d1 = _mm512_fmadd_pd(g_hi, x_hi, d1);
  }
  r0 = _mm512_reduce_add_pd(_mm512_add_pd(a0, a1));
  r1 = _mm512_reduce_add_pd(_mm512_add_pd(d0, d1));
}

// One sample's row of channel c (offset `row`) added into two double sums. Note [Batch
// statistics in the tree]: within a row the vector lanes' sums are added in the order the
// compiler fixes for this binary and ISA, the same on every rank and thread.
template <Pass pass, bool avx512>
inline void row_sums(const Operands& a, int64_t c, int64_t row, double& s0, double& s1) {
  const int64_t plane = a.b.plane;
  double r0 = 0.0, r1 = 0.0;
  if constexpr (pass == Pass::gradient_sums && avx512) {
    gradient_row_avx512(a.dy + row, a.gate == nullptr ? nullptr : a.gate + row, a.x + row, a.mean[c], a.inv_std[c],
                        plane, r0, r1);
  } else if constexpr (pass == Pass::sums) {
    const float* v = a.x + row;
#pragma omp simd reduction(+ : r0)
    for (int64_t j = 0; j < plane; ++j) r0 += v[j];
  } else if constexpr (pass == Pass::centered_sums) {
    const float* v = a.x + row;
    const double m = a.mean[c];
#pragma omp simd reduction(+ : r0)
    for (int64_t j = 0; j < plane; ++j) r0 += (v[j] - m) * (v[j] - m);
  } else {
    const float m = a.mean[c], k = a.inv_std[c];
    const float* dyr = a.dy + row;
    const float* xr = a.x + row;
    if (a.gate == nullptr) {
#pragma omp simd reduction(+ : r0, r1)
      for (int64_t j = 0; j < plane; ++j) {
        r0 += dyr[j];
        r1 += static_cast<double>(dyr[j]) * ((xr[j] - m) * k);
      }
    } else {
      const float* gr = a.gate + row;
#pragma omp simd reduction(+ : r0, r1)
      for (int64_t j = 0; j < plane; ++j) {
        const float g = gr[j] > 0.0f ? dyr[j] : 0.0f;
        r0 += g;
        r1 += static_cast<double>(g) * ((xr[j] - m) * k);
      }
    }
  }
  s0 += r0;
  s1 += r1;
}

// The gradient pass's group sums into the float trees (beta_grad, gamma_grad) and the double
// trees; the float trees first, since the double trees overwrite the group sums.
inline void finish_gradient_sums(const Operands& a, int64_t c, double* sums_dy, double* sums_dy_xhat, int64_t groups) {
  auto* floats = reinterpret_cast<float*>(sums_dy_xhat + groups);
  if (a.beta_grad != nullptr) {
    for (int64_t g = 0; g < groups; ++g) floats[g] = static_cast<float>(sums_dy[g]);
    tree_sum(floats, groups, 1, 1, a.beta_grad + c);
  }
  if (a.gamma_grad != nullptr) {
    for (int64_t g = 0; g < groups; ++g) floats[g] = static_cast<float>(sums_dy_xhat[g]);
    tree_sum(floats, groups, 1, 1, a.gamma_grad + c);
  }
  a.out0[c] = tree_sum(sums_dy, groups);
  a.out1[c] = tree_sum(sums_dy_xhat, groups);
}

// Channels [c0, c1): each group of samples summed in sample order, the groups in the tree.
template <Pass pass, bool avx512>
inline void channel_range(const Operands& a, int64_t c0, int64_t c1, double* scratch) {
  const ChannelBlock& b = a.b;
  const int64_t groups = group_count(b.n);
  double* sums0 = scratch;
  double* sums1 = scratch + groups;
  for (int64_t c = c0; c < c1; ++c) {
    for (int64_t g = 0; g < groups; ++g) {
      double s0 = 0.0, s1 = 0.0;
      const int64_t end = std::min(b.n, (g + 1) * kWeightGradGroup);
      for (int64_t i = g * kWeightGradGroup; i < end; ++i)
        row_sums<pass, avx512>(a, c, (i * b.channels + c) * b.plane, s0, s1);
      sums0[g] = s0;
      sums1[g] = s1;
    }
    if constexpr (pass == Pass::gradient_sums) {
      finish_gradient_sums(a, c, sums0, sums1, groups);
    } else {
      a.out0[c] = tree_sum(sums0, groups);
    }
  }
}

// Rows [r0, r1) of [n * channels] rows of `plane` elements, element by element.
template <Pass pass>
inline void row_range(const Operands& a, int64_t r0, int64_t r1) {
  const int64_t plane = a.b.plane;
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t c = r % a.b.channels, at = r * plane;
    const float* in = a.x + at;
    if constexpr (pass == Pass::affine) {
      // Same operations in the same order as batch norm, then an add, then a ReLU as separate
      // layers (Note [Fused residual add]).
      const float s = a.scale[c], t = a.shift[c];
      const float* res = a.residual != nullptr ? a.residual + at : nullptr;
      float* out = a.y + at;
      if (res != nullptr && a.relu) {
#pragma omp simd
        for (int64_t j = 0; j < plane; ++j) {
          const float v = in[j] * s + t;
          const float w = v + res[j];
          out[j] = w > 0.0f ? w : 0.0f;
        }
      } else if (res != nullptr) {
#pragma omp simd
        for (int64_t j = 0; j < plane; ++j) {
          const float v = in[j] * s + t;
          out[j] = v + res[j];
        }
      } else if (a.relu) {
#pragma omp simd
        for (int64_t j = 0; j < plane; ++j) {
          const float v = in[j] * s + t;
          out[j] = v > 0.0f ? v : 0.0f;
        }
      } else {
#pragma omp simd
        for (int64_t j = 0; j < plane; ++j) out[j] = in[j] * s + t;
      }
    } else {
      const float m = a.mean[c], is = a.inv_std[c], kk = a.k[c], mdy = a.mean_dy[c], mdx = a.mean_dy_xhat[c];
      const float* g = a.dy + at;
      float* out = a.dx + at;
      float* res = a.residual_grad != nullptr ? a.residual_grad + at : nullptr;
      if (a.gate != nullptr) {
        const float* y = a.gate + at;
        if (res != nullptr) {
#pragma omp simd
          for (int64_t j = 0; j < plane; ++j) {
            const float gj = y[j] > 0.0f ? g[j] : 0.0f;
            res[j] = gj;
            out[j] = kk * (gj - mdy - (in[j] - m) * is * mdx);
          }
        } else {
#pragma omp simd
          for (int64_t j = 0; j < plane; ++j) {
            const float gj = y[j] > 0.0f ? g[j] : 0.0f;
            out[j] = kk * (gj - mdy - (in[j] - m) * is * mdx);
          }
        }
      } else {
        if (res != nullptr) std::copy(g, g + plane, res);
#pragma omp simd
        for (int64_t j = 0; j < plane; ++j) out[j] = kk * (g[j] - mdy - (in[j] - m) * is * mdx);
      }
    }
  }
}

template <Pass pass, bool avx512 = false>
inline void run_range(const Operands& a, int64_t begin, int64_t end, double* scratch) {
  if constexpr (pass == Pass::affine || pass == Pass::input_grad) {
    row_range<pass>(a, begin, end);
  } else {
    channel_range<pass, avx512>(a, begin, end, scratch);
  }
}

// The same code compiled for each ISA (the passes are memory-bound, but the portable build's
// SSE2 doubles make the sums compute-bound); active_isa() picks one.
using Range = void (*)(const Operands&, int64_t, int64_t, double*);

template <Pass pass>
__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,prefer-vector-width=512"), flatten)) void run_avx512(
    const Operands& a, int64_t begin, int64_t end, double* scratch) {
  run_range<pass, true>(a, begin, end, scratch);
}

template <Pass pass>
__attribute__((target("avx2"), flatten)) void run_avx2(const Operands& a, int64_t begin, int64_t end, double* scratch) {
  run_range<pass>(a, begin, end, scratch);
}

template <Pass pass>
__attribute__((flatten)) void run_generic(const Operands& a, int64_t begin, int64_t end, double* scratch) {
  run_range<pass>(a, begin, end, scratch);
}

template <Pass pass>
Range for_isa() {
  switch (active_isa()) {
    case Isa::avx512: return run_avx512<pass>;
    case Isa::avx2: return run_avx2<pass>;
    case Isa::generic: break;
  }
  return run_generic<pass>;
}

// One parallel region: `items` (channels for the sums, rows for the element-wise passes) split
// into equal contiguous ranges, one per thread.
template <Pass pass>
void run(const Operands& a, int64_t items, double* scratch) {
  const Range range = for_isa<pass>();
  const int64_t per_thread = kScratchPerGroup * std::max<int64_t>(group_count(a.b.n), 1);
#pragma omp parallel num_threads(clamp_threads(a.b.threads, items))
  {
    const int64_t id = omp_get_thread_num(), count = omp_get_num_threads();
    range(a, items * id / count, items * (id + 1) / count, scratch + id * per_thread);
  }
}

}  // namespace

int64_t channel_sums_scratch(const ChannelBlock& b) {
  return static_cast<int64_t>(clamp_threads(b.threads, b.channels)) * kScratchPerGroup *
         std::max<int64_t>(group_count(b.n), 1);
}

void channel_sums(const float* x, const float* center, const ChannelBlock& b, double* out, double* scratch) {
  // x [n, channels, plane]
  if (b.n == 0) {
    std::fill(out, out + b.channels, 0.0);
    return;
  }
  const Operands a{.b = b, .x = x, .mean = center, .out0 = out};
  if (center == nullptr) {
    run<Pass::sums>(a, b.channels, scratch);
  } else {
    run<Pass::centered_sums>(a, b.channels, scratch);
  }
}

void channel_gradient_sums(const float* dy, const float* gate, const float* x, const float* mean, const float* inv_std,
                           const ChannelBlock& b, double* sum_dy, double* sum_dy_xhat, float* gamma_grad,
                           float* beta_grad, double* scratch) {
  // dy, gate, x [n, channels, plane]; one pass reads each once.
  if (b.n == 0) {
    std::fill(sum_dy, sum_dy + b.channels, 0.0);
    std::fill(sum_dy_xhat, sum_dy_xhat + b.channels, 0.0);
    return;
  }
  const Operands a{.b = b,
                   .x = x,
                   .dy = dy,
                   .gate = gate,
                   .mean = mean,
                   .inv_std = inv_std,
                   .gamma_grad = gamma_grad,
                   .beta_grad = beta_grad,
                   .out0 = sum_dy,
                   .out1 = sum_dy_xhat};
  run<Pass::gradient_sums>(a, b.channels, scratch);
}

void channel_affine(const float* x, const float* scale, const float* shift, const float* residual, bool relu,
                    const ChannelBlock& b, float* y) {
  // x, residual, y [n, channels, plane]
  const Operands a{.b = b, .x = x, .residual = residual, .scale = scale, .shift = shift, .relu = relu, .y = y};
  run<Pass::affine>(a, b.n * b.channels, nullptr);
}

void batch_norm_input_grad(const float* dy, const float* gate, const float* x, const float* mean, const float* inv_std,
                           const float* k, const float* mean_dy, const float* mean_dy_xhat, const ChannelBlock& b,
                           float* dx, float* residual_grad) {
  // dy, gate, x, dx, residual_grad [n, channels, plane]
  const Operands a{.b = b,
                   .x = x,
                   .dy = dy,
                   .gate = gate,
                   .mean = mean,
                   .inv_std = inv_std,
                   .k = k,
                   .mean_dy = mean_dy,
                   .mean_dy_xhat = mean_dy_xhat,
                   .dx = dx,
                   .residual_grad = residual_grad};
  run<Pass::input_grad>(a, b.n * b.channels, nullptr);
}

}  // namespace convoy
