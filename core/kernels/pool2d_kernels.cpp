#include "core/kernels/pool2d_kernels.hpp"

#include <algorithm>
#include <limits>

namespace convoy {
namespace {

struct Window {
  int64_t y0, y1, x0, x1;  // clipped to the input
};

Window window_at(const Pool2dGeometry& g, int64_t oy, int64_t ox) {
  const int64_t y = oy * g.stride_h - g.pad_top;
  const int64_t x = ox * g.stride_w - g.pad_left;
  return {std::max<int64_t>(y, 0), std::min(y + g.window_h, g.in_h), std::max<int64_t>(x, 0),
          std::min(x + g.window_w, g.in_w)};
}

// Offset of the first maximum of the window within the plane.
int64_t argmax(const Pool2dGeometry& g, const float* plane, const Window& w) {
  int64_t best = w.y0 * g.in_w + w.x0;
  float best_value = -std::numeric_limits<float>::infinity();
  for (int64_t y = w.y0; y < w.y1; ++y)
    for (int64_t x = w.x0; x < w.x1; ++x)
      if (plane[y * g.in_w + x] > best_value) {
        best_value = plane[y * g.in_w + x];
        best = y * g.in_w + x;
      }
  return best;
}

// The common case (2x2 windows, stride 2, no padding) in one pass over each pair of input rows.
bool is_2x2_stride_2(const Pool2dGeometry& g) {
  return g.window_h == 2 && g.window_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_top == 0 &&
         g.pad_left == 0 && g.out_h * 2 <= g.in_h && g.out_w * 2 <= g.in_w;
}

int plane_threads(const Pool2dGeometry& g, int threads) {
  // Below a few planes' worth of work a parallel region costs more than it saves.
  return g.batch * g.channels * g.out_h * g.out_w < 4096 ? 1 : std::max(threads, 1);
}

}  // namespace

void max_pool2d_forward(const Pool2dGeometry& g, const float* input, float* output, int threads) {
  const int64_t planes = g.batch * g.channels;
  const bool fast = is_2x2_stride_2(g);
#pragma omp parallel for schedule(static) num_threads(plane_threads(g, threads))
  for (int64_t p = 0; p < planes; ++p) {
    const float* plane = input + p * g.in_h * g.in_w;
    float* out = output + p * g.out_h * g.out_w;
    if (fast) {
      for (int64_t oy = 0; oy < g.out_h; ++oy) {
        const float* top = plane + 2 * oy * g.in_w;
        const float* bottom = top + g.in_w;
        float* o = out + oy * g.out_w;
        for (int64_t ox = 0; ox < g.out_w; ++ox) {
          const float a = std::max(top[2 * ox], top[2 * ox + 1]), b = std::max(bottom[2 * ox], bottom[2 * ox + 1]);
          o[ox] = std::max(a, b);
        }
      }
      continue;
    }
    for (int64_t oy = 0; oy < g.out_h; ++oy)
      for (int64_t ox = 0; ox < g.out_w; ++ox) out[oy * g.out_w + ox] = plane[argmax(g, plane, window_at(g, oy, ox))];
  }
}

void max_pool2d_backward(const Pool2dGeometry& g, const float* input, const float* output_grad,
                         float* input_grad, int threads) {
  const int64_t planes = g.batch * g.channels;
  const bool fast = is_2x2_stride_2(g);
#pragma omp parallel for schedule(static) num_threads(plane_threads(g, threads))
  for (int64_t p = 0; p < planes; ++p) {
    const float* plane = input + p * g.in_h * g.in_w;
    const float* og = output_grad + p * g.out_h * g.out_w;
    float* ig = input_grad + p * g.in_h * g.in_w;
    if (fast) {
      // One pass: every window's four positions get the gradient or 0; odd edges get 0.
      for (int64_t oy = 0; oy < g.out_h; ++oy) {
        const float* top = plane + 2 * oy * g.in_w;
        float* igt = ig + 2 * oy * g.in_w;
        const float* bottom = top + g.in_w;
        float* igb = igt + g.in_w;
        // Branch-free: which of the four holds the maximum is data, and a mispredicted branch
        // per window cost more than the whole pass. Ties go to the first in row-major order.
        for (int64_t ox = 0; ox < g.out_w; ++ox) {
          const float a = top[2 * ox], b = top[2 * ox + 1], c = bottom[2 * ox], d = bottom[2 * ox + 1];
          const float m = std::max(std::max(a, b), std::max(c, d));
          const bool at_a = a == m, at_b = !at_a && b == m, at_c = !at_a && !at_b && c == m;
          const bool at_d = !at_a && !at_b && !at_c;
          const float v = og[oy * g.out_w + ox];
          igt[2 * ox] = at_a ? v : 0.0f;
          igt[2 * ox + 1] = at_b ? v : 0.0f;
          igb[2 * ox] = at_c ? v : 0.0f;
          igb[2 * ox + 1] = at_d ? v : 0.0f;
        }
        for (int64_t x = 2 * g.out_w; x < g.in_w; ++x) igt[x] = igt[g.in_w + x] = 0.0f;
      }
      std::fill(ig + 2 * g.out_h * g.in_w, ig + g.in_h * g.in_w, 0.0f);
      continue;
    }
    std::fill(ig, ig + g.in_h * g.in_w, 0.0f);
    for (int64_t oy = 0; oy < g.out_h; ++oy)
      for (int64_t ox = 0; ox < g.out_w; ++ox) ig[argmax(g, plane, window_at(g, oy, ox))] += og[oy * g.out_w + ox];
  }
}

void avg_pool2d_forward(const Pool2dGeometry& g, const float* input, float* output, int threads) {
  const int64_t planes = g.batch * g.channels;
#pragma omp parallel for schedule(static) num_threads(plane_threads(g, threads))
  for (int64_t p = 0; p < planes; ++p) {
    const float* plane = input + p * g.in_h * g.in_w;
    float* out = output + p * g.out_h * g.out_w;
    for (int64_t oy = 0; oy < g.out_h; ++oy)
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const Window w = window_at(g, oy, ox);
        float sum = 0.0f;
        for (int64_t y = w.y0; y < w.y1; ++y)
          for (int64_t x = w.x0; x < w.x1; ++x) sum += plane[y * g.in_w + x];
        const int64_t count = (w.y1 - w.y0) * (w.x1 - w.x0);
        out[oy * g.out_w + ox] = count > 0 ? sum / static_cast<float>(count) : 0.0f;
      }
  }
}

void avg_pool2d_backward(const Pool2dGeometry& g, const float* output_grad, float* input_grad, int threads) {
  const int64_t planes = g.batch * g.channels;
#pragma omp parallel for schedule(static) num_threads(plane_threads(g, threads))
  for (int64_t p = 0; p < planes; ++p) {
    const float* og = output_grad + p * g.out_h * g.out_w;
    float* ig = input_grad + p * g.in_h * g.in_w;
    std::fill(ig, ig + g.in_h * g.in_w, 0.0f);
    for (int64_t oy = 0; oy < g.out_h; ++oy)
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const Window w = window_at(g, oy, ox);
        const int64_t count = (w.y1 - w.y0) * (w.x1 - w.x0);
        if (count == 0) continue;
        const float share = og[oy * g.out_w + ox] / static_cast<float>(count);
        for (int64_t y = w.y0; y < w.y1; ++y)
          for (int64_t x = w.x0; x < w.x1; ++x) ig[y * g.in_w + x] += share;
      }
  }
}

}  // namespace convoy
