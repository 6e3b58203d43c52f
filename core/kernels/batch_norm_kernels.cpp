#include "core/kernels/batch_norm_kernels.hpp"

#include <omp.h>

#include <algorithm>

#include "core/kernels/thread_count.hpp"
#include "core/kernels/tree_sum.hpp"

namespace convoy {
namespace {

int64_t group_count(int64_t n) { return (n + kWeightGradGroup - 1) / kWeightGradGroup; }

// For each channel (parallel, static): term(c, row, s0, s1) adds one sample's row of channel
// c (its offset in x) into two double sums; each group's pair of sums is handed, for all
// groups at once, to finish(c, sums0, sums1, groups). Scratch: kScratchPerGroup doubles a group
// per thread (two sums, and room for finish to convert them to floats).
constexpr int64_t kScratchPerGroup = 3;

template <typename Term, typename Finish>
void for_channel_groups(const ChannelBlock& b, double* scratch, Term term, Finish finish) {
  const int64_t groups = group_count(b.n);
#pragma omp parallel num_threads(clamp_threads(b.threads, b.channels))
  {
    double* sums0 = scratch + omp_get_thread_num() * kScratchPerGroup * std::max<int64_t>(groups, 1);
    double* sums1 = sums0 + groups;
#pragma omp for schedule(static)
    for (int64_t c = 0; c < b.channels; ++c) {
      for (int64_t g = 0; g < groups; ++g) {
        double s0 = 0.0, s1 = 0.0;
        const int64_t end = std::min(b.n, (g + 1) * kWeightGradGroup);
        for (int64_t i = g * kWeightGradGroup; i < end; ++i) term(c, (i * b.channels + c) * b.plane, s0, s1);
        sums0[g] = s0;
        sums1[g] = s1;
      }
      finish(c, sums0, sums1, groups);
    }
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
  const int64_t plane = b.plane;
  const auto term = [&](int64_t c, int64_t row, double& s, double&) {
    const float* v = x + row;
    // Note [Batch statistics in the tree]: within a row, the vector lanes' sums are added in
    // the order the compiler fixes for this binary, the same on every rank and thread.
    double r = 0.0;
    if (center == nullptr) {
#pragma omp simd reduction(+ : r)
      for (int64_t j = 0; j < plane; ++j) r += v[j];
    } else {
      const double m = center[c];
#pragma omp simd reduction(+ : r)
      for (int64_t j = 0; j < plane; ++j) r += (v[j] - m) * (v[j] - m);
    }
    s += r;
  };
  for_channel_groups(b, scratch, term,
                     [&](int64_t c, double* sums, double*, int64_t groups) { out[c] = tree_sum(sums, groups); });
}

void channel_gradient_sums(const float* dy, const float* gate, const float* x, const float* mean,
                           const float* inv_std, const ChannelBlock& b, double* sum_dy, double* sum_dy_xhat,
                           float* gamma_grad, float* beta_grad, double* scratch) {
  // dy, gate, x [n, channels, plane]; one pass reads each once.
  if (b.n == 0) {
    std::fill(sum_dy, sum_dy + b.channels, 0.0);
    std::fill(sum_dy_xhat, sum_dy_xhat + b.channels, 0.0);
    return;
  }
  const int64_t plane = b.plane;
  const auto term = [&](int64_t c, int64_t row, double& s_dy, double& s_dy_xhat) {
    const float m = mean[c], k = inv_std[c];
    double a = 0.0, d = 0.0;
    const float* dyr = dy + row;
    const float* xr = x + row;
    if (gate == nullptr) {
#pragma omp simd reduction(+ : a, d)
      for (int64_t j = 0; j < plane; ++j) {
        a += dyr[j];
        d += static_cast<double>(dyr[j]) * ((xr[j] - m) * k);
      }
    } else {
      const float* gr = gate + row;
#pragma omp simd reduction(+ : a, d)
      for (int64_t j = 0; j < plane; ++j) {
        const float g = gr[j] > 0.0f ? dyr[j] : 0.0f;
        a += g;
        d += static_cast<double>(g) * ((xr[j] - m) * k);
      }
    }
    s_dy += a;
    s_dy_xhat += d;
  };
  const auto finish = [&](int64_t c, double* sums_dy, double* sums_dy_xhat, int64_t groups) {
    // The float trees first (from the group sums), then the double trees, which overwrite them.
    auto* floats = reinterpret_cast<float*>(sums_dy_xhat + groups);
    if (beta_grad != nullptr) {
      for (int64_t g = 0; g < groups; ++g) floats[g] = static_cast<float>(sums_dy[g]);
      tree_sum(floats, groups, 1, 1, beta_grad + c);
    }
    if (gamma_grad != nullptr) {
      for (int64_t g = 0; g < groups; ++g) floats[g] = static_cast<float>(sums_dy_xhat[g]);
      tree_sum(floats, groups, 1, 1, gamma_grad + c);
    }
    sum_dy[c] = tree_sum(sums_dy, groups);
    sum_dy_xhat[c] = tree_sum(sums_dy_xhat, groups);
  };
  for_channel_groups(b, scratch, term, finish);
}

void channel_affine(const float* x, const float* scale, const float* shift, bool relu, const ChannelBlock& b,
                    float* y) {
  // x, y [n, channels, plane]
  const int64_t rows = b.n * b.channels, plane = b.plane;
#pragma omp parallel for num_threads(clamp_threads(b.threads, rows)) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float s = scale[r % b.channels], t = shift[r % b.channels];
    const float* in = x + r * plane;
    float* out = y + r * plane;
    if (relu) {
#pragma omp simd
      for (int64_t j = 0; j < plane; ++j) {
        const float v = in[j] * s + t;
        out[j] = v > 0.0f ? v : 0.0f;
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < plane; ++j) out[j] = in[j] * s + t;
    }
  }
}

void batch_norm_input_grad(const float* dy, const float* gate, const float* x, const float* mean,
                           const float* inv_std, const float* k, const float* mean_dy, const float* mean_dy_xhat,
                           const ChannelBlock& b, float* dx) {
  // dy, gate, x, dx [n, channels, plane]
  const int64_t rows = b.n * b.channels, plane = b.plane;
#pragma omp parallel for num_threads(clamp_threads(b.threads, rows)) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r % b.channels;
    const float m = mean[c], is = inv_std[c], kk = k[c], mdy = mean_dy[c], mdx = mean_dy_xhat[c];
    const float* g = dy + r * plane;
    const float* in = x + r * plane;
    float* out = dx + r * plane;
    if (gate != nullptr) {
      const float* y = gate + r * plane;
#pragma omp simd
      for (int64_t j = 0; j < plane; ++j) {
        const float gj = y[j] > 0.0f ? g[j] : 0.0f;
        out[j] = kk * (gj - mdy - (in[j] - m) * is * mdx);
      }
    } else {
#pragma omp simd
      for (int64_t j = 0; j < plane; ++j) out[j] = kk * (g[j] - mdy - (in[j] - m) * is * mdx);
    }
  }
}

}  // namespace convoy
