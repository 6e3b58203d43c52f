#include "core/kernels/pool2d_kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/kernels/cpu_features.hpp"
#include "core/kernels/max_pool3x3.hpp"
#include "core/kernels/max_pool_flat.hpp"

namespace convoy {
namespace {

// Note [Pooling by row passes]
// A plane is pooled one output row at a time. The output columns whose windows lie wholly inside
// the input horizontally (all of them without padding) are done as passes over the window's
// positions, each pass a loop over those columns: out[ox] op= row[stride * ox + k]. With the
// column stride known at compile time (1 or 2) these loops are unit- or pair-strided and GCC
// vectorises them; every window still sees its positions in row-major order, so ties and sums
// come out exactly as in the window-at-a-time definition. Rows cut by padding are simply fewer
// passes. The few columns at a padded edge, and strides other than 1 or 2, go window by window.
// Whole-plane (global) windows are reductions of their own. The same source is compiled for the
// baseline, AVX2 and AVX-512, chosen per call by active_isa().

constexpr float kLowest = -std::numeric_limits<float>::infinity();

// Window size the code is compiled for; `any` reads it from the geometry.
enum class Kind { any, window2x2, window3x3, global };

struct Window {
  int64_t y0, y1, x0, x1;  // clipped to the input
};

Window window_at(const Pool2dGeometry& g, int64_t oy, int64_t ox) {
  const int64_t y = oy * g.stride_h - g.pad_top;
  const int64_t x = ox * g.stride_w - g.pad_left;
  return {std::max<int64_t>(y, 0), std::min(y + g.window_h, g.in_h), std::max<int64_t>(x, 0),
          std::min(x + g.window_w, g.in_w)};
}

// Offset of the window's maximum within the plane: its first position, replaced by each later
// one (row-major) that is strictly greater than every earlier one and than -inf. NaN is never
// greater, so it wins only when nothing in the window is above -inf and it comes first.
int64_t argmax(const Pool2dGeometry& g, const float* plane, const Window& w) {
  int64_t best = w.y0 * g.in_w + w.x0;
  float best_value = kLowest;
  for (int64_t y = w.y0; y < w.y1; ++y)
    for (int64_t x = w.x0; x < w.x1; ++x)
      if (plane[y * g.in_w + x] > best_value) {
        best_value = plane[y * g.in_w + x];
        best = y * g.in_w + x;
      }
  return best;
}

// Output columns [lo, hi) have windows wholly inside the input horizontally.
struct Columns {
  int64_t lo, hi;
};

Columns inner_columns(const Pool2dGeometry& g) {
  const int64_t lo = std::min((g.pad_left + g.stride_w - 1) / g.stride_w, g.out_w);
  const int64_t last = g.in_w - g.window_w + g.pad_left;  // stride * ox must not exceed it
  const int64_t hi = last < 0 ? 0 : std::min(last / g.stride_w + 1, g.out_w);
  return {lo, std::max(lo, hi)};
}

// ---- windows of a size known at compile time ---------------------------------------------------

// The winner of a KH x KW window at p (row stride w) under argmax's rule, as an offset from p,
// and its value. Branch-free, as which position wins is data and a mispredicted branch costs
// more than the whole window: the maximum first (NaN never replaces a number), then the lowest
// set bit of the positions equal to it (-0 equals +0, so the first zero wins, as it should).
template <int KH, int KW>
inline float window_max(const float* __restrict p, int64_t w) {
  float best = kLowest;
#pragma GCC unroll 16
  for (int r = 0; r < KH; ++r)
#pragma GCC unroll 16
    for (int k = 0; k < KW; ++k) best = p[r * w + k] > best ? p[r * w + k] : best;
  return best;
}

template <int KH, int KW>
inline int64_t window_argmax(const float* __restrict p, int64_t w) {
  const float best = window_max<KH, KW>(p, w);
  unsigned equal = best > kLowest ? 0u : 1u;  // nothing above -inf: the first position
#pragma GCC unroll 16
  for (int r = 0; r < KH; ++r)
#pragma GCC unroll 16
    for (int k = 0; k < KW; ++k) equal |= static_cast<unsigned>(p[r * w + k] == best) << (r * KW + k);
  const int i = __builtin_ctz(equal);
  return i / KW * w + i % KW;
}

template <int KH, int KW>
inline float window_sum(const float* __restrict p, int64_t w) {
  float sum = 0.0f;
#pragma GCC unroll 16
  for (int r = 0; r < KH; ++r)
#pragma GCC unroll 16
    for (int k = 0; k < KW; ++k) sum += p[r * w + k];
  return sum;
}

// Calls inner(ox, p) for the windows of row oy wholly inside the input (p: their first
// position), and edge(ox, window) for the rest.
template <typename Inner, typename Edge>
void for_windows(const Pool2dGeometry& g, const Columns& c, int64_t oy, const float* plane, Inner inner, Edge edge) {
  const int64_t y = oy * g.stride_h - g.pad_top;
  if (y < 0 || y + g.window_h > g.in_h) {
    for (int64_t ox = 0; ox < g.out_w; ++ox) edge(ox, window_at(g, oy, ox));
    return;
  }
  for (int64_t ox = 0; ox < c.lo; ++ox) edge(ox, window_at(g, oy, ox));
  const float* row = plane + y * g.in_w - g.pad_left;
  for (int64_t ox = c.lo; ox < c.hi; ++ox) inner(ox, row + ox * g.stride_w);
  for (int64_t ox = c.hi; ox < g.out_w; ++ox) edge(ox, window_at(g, oy, ox));
}

// KH = KW = 0: the window size is read from the geometry.
template <int KH, int KW>
inline void max_forward_plane(const Pool2dGeometry& g, const Columns& c, const float* __restrict plane,
                              float* __restrict out) {
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    float* o = out + oy * g.out_w;
    const auto edge = [&](int64_t ox, const Window& w) { o[ox] = plane[argmax(g, plane, w)]; };
    if constexpr (KH == 0) {
      for_windows(g, c, oy, plane, [&](int64_t ox, const float*) { edge(ox, window_at(g, oy, ox)); }, edge);
    } else {
      for_windows(g, c, oy, plane, [&](int64_t ox, const float* p) {
        // The first maximum's value: later equal values (+0 after -0) never replace it.
        const float best = window_max<KH, KW>(p, g.in_w);
        o[ox] = best > kLowest ? best : p[0];
      }, edge);
    }
  }
}

template <int KH, int KW>
inline void max_backward_plane(const Pool2dGeometry& g, const Columns& c, const float* __restrict plane,
                               const float* __restrict og, float* __restrict ig) {
  std::memset(ig, 0, sizeof(float) * g.in_h * g.in_w);
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    const float* grad = og + oy * g.out_w;
    const auto edge = [&](int64_t ox, const Window& w) { ig[argmax(g, plane, w)] += grad[ox]; };
    if constexpr (KH == 0) {
      for_windows(g, c, oy, plane, [&](int64_t ox, const float*) { edge(ox, window_at(g, oy, ox)); }, edge);
    } else {
      for_windows(g, c, oy, plane, [&](int64_t ox, const float* p) {
        ig[(p - plane) + window_argmax<KH, KW>(p, g.in_w)] += grad[ox];
      }, edge);
    }
  }
}

float window_count(const Window& w) { return static_cast<float>((w.y1 - w.y0) * (w.x1 - w.x0)); }

template <int KH, int KW>
inline void avg_forward_plane(const Pool2dGeometry& g, const Columns& c, const float* __restrict plane,
                              float* __restrict out) {
  const float full = static_cast<float>(g.window_h * g.window_w);
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    float* o = out + oy * g.out_w;
    const auto edge = [&](int64_t ox, const Window& w) {
      float sum = 0.0f;
      for (int64_t y = w.y0; y < w.y1; ++y)
        for (int64_t x = w.x0; x < w.x1; ++x) sum += plane[y * g.in_w + x];
      o[ox] = w.y1 > w.y0 && w.x1 > w.x0 ? sum / window_count(w) : 0.0f;
    };
    if constexpr (KH == 0) {
      for_windows(g, c, oy, plane, [&](int64_t ox, const float*) { edge(ox, window_at(g, oy, ox)); }, edge);
    } else {
      for_windows(g, c, oy, plane, [&](int64_t ox, const float* p) { o[ox] = window_sum<KH, KW>(p, g.in_w) / full; },
                  edge);
    }
  }
}

template <int KH, int KW>
inline void avg_backward_plane(const Pool2dGeometry& g, const Columns& c, const float* __restrict og,
                               float* __restrict ig) {
  std::memset(ig, 0, sizeof(float) * g.in_h * g.in_w);
  const float full = static_cast<float>(g.window_h * g.window_w);
  for (int64_t oy = 0; oy < g.out_h; ++oy) {
    const float* grad = og + oy * g.out_w;
    const auto edge = [&](int64_t ox, const Window& w) {
      if (w.y1 <= w.y0 || w.x1 <= w.x0) return;
      const float part = grad[ox] / window_count(w);
      for (int64_t y = w.y0; y < w.y1; ++y)
        for (int64_t x = w.x0; x < w.x1; ++x) ig[y * g.in_w + x] += part;
    };
    if constexpr (KH == 0) {
      for_windows(g, c, oy, ig, [&](int64_t ox, const float*) { edge(ox, window_at(g, oy, ox)); }, edge);
    } else {
      for_windows(g, c, oy, ig, [&](int64_t ox, const float* p) {
        float* q = ig + (p - ig);
        const float part = grad[ox] / full;
#pragma GCC unroll 16
        for (int r = 0; r < KH; ++r)
#pragma GCC unroll 16
          for (int k = 0; k < KW; ++k) q[r * g.in_w + k] += part;
      }, edge);
    }
  }
}

// ---- global (one window covering the plane) ----------------------------------------------------

constexpr int kLanes = 16;  // fixed lane count: the same bits on every ISA

// The offset of the plane's maximum under argmax's rule: the largest value (NaN ignored), then
// the first position equal to it (-0 equals +0, so the first zero wins as it should).
inline int64_t global_argmax(const float* __restrict plane, int64_t size) {
  float lane[kLanes];
  for (int i = 0; i < kLanes; ++i) lane[i] = kLowest;
  int64_t i = 0;
  for (; i + kLanes <= size; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] = plane[i + l] > lane[l] ? plane[i + l] : lane[l];
  float best = kLowest;
  for (int l = 0; l < kLanes; ++l) best = lane[l] > best ? lane[l] : best;
  for (; i < size; ++i) best = plane[i] > best ? plane[i] : best;
  if (!(best > kLowest)) return 0;
  int64_t at = 0;
  while (plane[at] != best) ++at;
  return at;
}

inline float global_sum(const float* __restrict plane, int64_t size) {
  float lane[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= size; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lane[l] += plane[i + l];
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  for (; i < size; ++i) sum += plane[i];
  return sum;
}

// ---- plane ranges, one instantiation per ISA ---------------------------------------------------

enum class Op { max_forward, max_backward, avg_forward, avg_backward };

struct Operands {
  const float* input;        // [N, C, H, W] (unused by avg backward)
  const float* output_grad;  // [N, C, OH, OW] (backward only)
  float* output;             // forward: [N, C, OH, OW]; backward: input_grad [N, C, H, W]
};

template <Op op, Kind kind>
inline void run_planes(const Pool2dGeometry& g, const Operands& a, int64_t p0, int64_t p1) {
  const Columns c = inner_columns(g);
  const int64_t in_size = g.in_h * g.in_w, out_size = g.out_h * g.out_w;
  for (int64_t p = p0; p < p1; ++p) {
    const float* plane = op == Op::avg_backward ? nullptr : a.input + p * in_size;
    if constexpr (kind == Kind::global) {
      if constexpr (op == Op::max_forward) a.output[p] = plane[global_argmax(plane, in_size)];
      if constexpr (op == Op::max_backward) {
        float* ig = a.output + p * in_size;
        std::memset(ig, 0, sizeof(float) * in_size);
        ig[global_argmax(plane, in_size)] = a.output_grad[p];
      }
      if constexpr (op == Op::avg_forward) a.output[p] = global_sum(plane, in_size) / static_cast<float>(in_size);
      if constexpr (op == Op::avg_backward) {
        const float share = a.output_grad[p] / static_cast<float>(in_size);
        std::fill(a.output + p * in_size, a.output + (p + 1) * in_size, share);
      }
    } else {
      constexpr int k = kind == Kind::window2x2 ? 2 : kind == Kind::window3x3 ? 3 : 0;
      if constexpr (op == Op::max_forward) max_forward_plane<k, k>(g, c, plane, a.output + p * out_size);
      if constexpr (op == Op::max_backward)
        max_backward_plane<k, k>(g, c, plane, a.output_grad + p * out_size, a.output + p * in_size);
      if constexpr (op == Op::avg_forward) avg_forward_plane<k, k>(g, c, plane, a.output + p * out_size);
      if constexpr (op == Op::avg_backward)
        avg_backward_plane<k, k>(g, c, a.output_grad + p * out_size, a.output + p * in_size);
    }
  }
}

using PlaneRange = void (*)(const Pool2dGeometry&, const Operands&, int64_t, int64_t);

template <Op op, Kind kind>
__attribute__((target("avx2,fma"), flatten)) void run_planes_avx2(const Pool2dGeometry& g, const Operands& a,
                                                                   int64_t p0, int64_t p1) {
  run_planes<op, kind>(g, a, p0, p1);
}

template <Op op, Kind kind>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"), flatten)) void run_planes_avx512(
    const Pool2dGeometry& g, const Operands& a, int64_t p0, int64_t p1) {
  run_planes<op, kind>(g, a, p0, p1);
}

template <Op op, Kind kind>
__attribute__((flatten)) void run_planes_generic(const Pool2dGeometry& g, const Operands& a, int64_t p0, int64_t p1) {
  run_planes<op, kind>(g, a, p0, p1);
}

template <Op op, Kind kind>
PlaneRange for_isa() {
  switch (active_isa()) {
    case Isa::avx512: return run_planes_avx512<op, kind>;
    case Isa::avx2: return run_planes_avx2<op, kind>;
    case Isa::generic: break;
  }
  return run_planes_generic<op, kind>;
}

void max3x3_forward_range(const Pool2dGeometry& g, const Operands& a, int64_t p0, int64_t p1) {
  max_pool3x3_forward(g, a.input, a.output, p0, p1);
}

void max3x3_backward_range(const Pool2dGeometry& g, const Operands& a, int64_t p0, int64_t p1) {
  max_pool3x3_backward(g, a.input, a.output_grad, a.output, p0, p1);
}

void flat_forward_range(const Pool2dGeometry& g, const Operands& a, int64_t p0, int64_t p1) {
  max_pool_flat_forward(g, a.input, a.output, p0, p1);
}

void flat_backward_range(const Pool2dGeometry& g, const Operands& a, int64_t p0, int64_t p1) {
  max_pool_flat_backward(g, a.input, a.output_grad, a.output, p0, p1);
}

template <Op op>
PlaneRange select(const Pool2dGeometry& g) {
  // Measured: the branch-free winner search pays off for 2x2 windows only; the global maximum is
  // no faster than the window-at-a-time scan, so those keep the generic code. 3x3 maxima of
  // stride 1 and 2 go to vectors (Note [3x3 max pooling in vectors]), those of stride 1 on narrow
  // planes flat across rows and planes (Note [Narrow planes pooled flat]).
  constexpr bool is_max = op == Op::max_forward || op == Op::max_backward;
  if (is_max && max_pool_flat_serves(g)) return op == Op::max_forward ? flat_forward_range : flat_backward_range;
  if (is_max && max_pool3x3_serves(g)) return op == Op::max_forward ? max3x3_forward_range : max3x3_backward_range;
  if (!is_max && g.out_h == 1 && g.out_w == 1 && g.pad_top == 0 && g.pad_left == 0 && g.window_h >= g.in_h &&
      g.window_w >= g.in_w)
    return for_isa<op, Kind::global>();
  if (g.window_h == 2 && g.window_w == 2) return for_isa<op, Kind::window2x2>();
  if (g.window_h == 3 && g.window_w == 3 && op != Op::max_backward) return for_isa<op, Kind::window3x3>();
  return for_isa<op, Kind::any>();
}

int plane_threads(const Pool2dGeometry& g, int threads) {
  // Below a few planes' worth of work a parallel region costs more than it saves.
  return g.batch * g.channels * std::max(g.out_h * g.out_w, g.in_h * g.in_w) < 16384 ? 1 : std::max(threads, 1);
}

// Planes split into equal static ranges, one per thread, in one parallel region.
template <Op op>
void run(const Pool2dGeometry& g, const Operands& a, int threads) {
  const PlaneRange range = select<op>(g);
  const int64_t planes = g.batch * g.channels;
  const int team = plane_threads(g, threads);
  if (team == 1) return range(g, a, 0, planes);
#pragma omp parallel num_threads(team)
  {
    const int64_t t = omp_get_thread_num(), n = omp_get_num_threads();
    range(g, a, planes * t / n, planes * (t + 1) / n);
  }
}

}  // namespace

int64_t max_pool_winner(const Pool2dGeometry& g, const float* plane, int64_t oy, int64_t ox) {
  return argmax(g, plane, window_at(g, oy, ox));
}

void max_pool2d_forward(const Pool2dGeometry& g, const float* input, float* output, int threads) {
  run<Op::max_forward>(g, {.input = input, .output_grad = nullptr, .output = output}, threads);
}

void max_pool2d_backward(const Pool2dGeometry& g, const float* input, const float* output_grad,
                         float* input_grad, int threads) {
  run<Op::max_backward>(g, {.input = input, .output_grad = output_grad, .output = input_grad}, threads);
}

void avg_pool2d_forward(const Pool2dGeometry& g, const float* input, float* output, int threads) {
  run<Op::avg_forward>(g, {.input = input, .output_grad = nullptr, .output = output}, threads);
}

void avg_pool2d_backward(const Pool2dGeometry& g, const float* output_grad, float* input_grad, int threads) {
  run<Op::avg_backward>(g, {.input = nullptr, .output_grad = output_grad, .output = input_grad}, threads);
}

}  // namespace convoy
