#include "core/kernels/batch_norm_kernels.hpp"

#include <omp.h>

#include <algorithm>

#include "core/kernels/thread_count.hpp"
#include "core/kernels/tree_sum.hpp"

namespace convoy {
namespace {

int64_t group_count(int64_t n) { return (n + kWeightGradGroup - 1) / kWeightGradGroup; }

// For each channel (parallel, static): term(c, row) sums one sample's row of channel c (its
// offset in x) into a double; the group sums are handed to finish(c, partials, groups).
template <typename Term, typename Finish>
void for_channel_groups(const ChannelBlock& b, double* scratch, Term term, Finish finish) {
  const int64_t groups = group_count(b.n);
#pragma omp parallel num_threads(clamp_threads(b.threads, b.channels))
  {
    double* partials = scratch + omp_get_thread_num() * 2 * std::max<int64_t>(groups, 1);
#pragma omp for schedule(static)
    for (int64_t c = 0; c < b.channels; ++c) {
      for (int64_t g = 0; g < groups; ++g) {
        double s = 0.0;
        const int64_t end = std::min(b.n, (g + 1) * kWeightGradGroup);
        for (int64_t i = g * kWeightGradGroup; i < end; ++i) s += term(c, (i * b.channels + c) * b.plane);
        partials[g] = s;
      }
      finish(c, partials, groups);
    }
  }
}

}  // namespace

int64_t channel_sums_scratch(const ChannelBlock& b) {
  return static_cast<int64_t>(clamp_threads(b.threads, b.channels)) * 2 * std::max<int64_t>(group_count(b.n), 1);
}

void channel_sums(const float* x, const float* center, const ChannelBlock& b, double* out, double* scratch) {
  // x [n, channels, plane]
  const int64_t plane = b.plane;
  const auto term = [&](int64_t c, int64_t row) {
    const float* v = x + row;
    double s = 0.0;
    if (center == nullptr) {
      for (int64_t j = 0; j < plane; ++j) s += v[j];
    } else {
      const double m = center[c];
      for (int64_t j = 0; j < plane; ++j) s += (v[j] - m) * (v[j] - m);
    }
    return s;
  };
  if (b.n == 0) {
    std::fill(out, out + b.channels, 0.0);
    return;
  }
  for_channel_groups(b, scratch, term,
                     [&](int64_t c, double* partials, int64_t groups) { out[c] = tree_sum(partials, groups); });
}

void channel_gradient_sums(const float* dy, const float* x, const float* mean, const float* inv_std,
                           const ChannelBlock& b, double* sum_dy, double* sum_dy_xhat, float* gamma_grad,
                           float* beta_grad, double* scratch) {
  // dy, x [n, channels, plane]. Two sums per group: the group loop runs twice per channel, once
  // for dy and once for dy * xhat, so each keeps the one-sum-per-group shape of the tree.
  if (b.n == 0) {
    std::fill(sum_dy, sum_dy + b.channels, 0.0);
    std::fill(sum_dy_xhat, sum_dy_xhat + b.channels, 0.0);
    return;
  }
  const int64_t plane = b.plane, groups = group_count(b.n);
  for (int pass = 0; pass < 2; ++pass) {
    const auto term = [&](int64_t c, int64_t row) {
      double s = 0.0;
      if (pass == 0) {
        for (int64_t j = 0; j < plane; ++j) s += dy[row + j];
      } else {
        const float m = mean[c], k = inv_std[c];
        for (int64_t j = 0; j < plane; ++j) s += static_cast<double>(dy[row + j]) * ((x[row + j] - m) * k);
      }
      return s;
    };
    double* out = pass == 0 ? sum_dy : sum_dy_xhat;
    float* grad = pass == 0 ? beta_grad : gamma_grad;
    for_channel_groups(b, scratch, term, [&](int64_t c, double* partials, int64_t count) {
      // The float tree first (from the group sums), then the double tree, which overwrites them.
      auto* floats = reinterpret_cast<float*>(partials + std::max<int64_t>(groups, 1));
      for (int64_t g = 0; g < count; ++g) floats[g] = static_cast<float>(partials[g]);
      if (grad != nullptr) tree_sum(floats, count, 1, 1, grad + c);
      out[c] = tree_sum(partials, count);
    });
  }
}

void channel_affine(const float* x, const float* scale, const float* shift, const ChannelBlock& b, float* y) {
  // x, y [n, channels, plane]
  const int64_t rows = b.n * b.channels, plane = b.plane;
#pragma omp parallel for num_threads(clamp_threads(b.threads, rows)) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float s = scale[r % b.channels], t = shift[r % b.channels];
    const float* in = x + r * plane;
    float* out = y + r * plane;
#pragma omp simd
    for (int64_t j = 0; j < plane; ++j) out[j] = in[j] * s + t;
  }
}

void batch_norm_input_grad(const float* dy, const float* x, const float* mean, const float* inv_std, const float* k,
                           const float* mean_dy, const float* mean_dy_xhat, const ChannelBlock& b, float* dx) {
  // dy, x, dx [n, channels, plane]
  const int64_t rows = b.n * b.channels, plane = b.plane;
#pragma omp parallel for num_threads(clamp_threads(b.threads, rows)) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r % b.channels;
    const float m = mean[c], is = inv_std[c], kk = k[c], mdy = mean_dy[c], mdx = mean_dy_xhat[c];
    const float* g = dy + r * plane;
    const float* in = x + r * plane;
    float* out = dx + r * plane;
#pragma omp simd
    for (int64_t j = 0; j < plane; ++j) out[j] = kk * (g[j] - mdy - (in[j] - m) * is * mdx);
  }
}

}  // namespace convoy
