#include "tests/core/kernels/reference_kernels.hpp"

#include <algorithm>
#include <limits>

namespace convoy::reference {
namespace {

int64_t in_index(const Conv2dGeometry& g, int64_t n, int64_t c, int64_t y, int64_t x) {
  return ((n * g.in_channels + c) * g.in_h + y) * g.in_w + x;
}
int64_t out_index(const Conv2dGeometry& g, int64_t n, int64_t co, int64_t y, int64_t x) {
  return ((n * g.out_channels + co) * g.out_h + y) * g.out_w + x;
}
int64_t weight_index(const Conv2dGeometry& g, int64_t co, int64_t c, int64_t kh, int64_t kw) {
  return ((co * g.in_channels + c) * g.kernel_h + kh) * g.kernel_w + kw;
}

// Calls f(n, co, oy, ox, c, kh, kw, iy, ix) for every tap that meets the input (not the padding).
template <typename F>
void for_each_tap(const Conv2dGeometry& g, F f) {
  for (int64_t n = 0; n < g.batch; ++n)
    for (int64_t co = 0; co < g.out_channels; ++co)
      for (int64_t oy = 0; oy < g.out_h; ++oy)
        for (int64_t ox = 0; ox < g.out_w; ++ox)
          for (int64_t c = 0; c < g.in_channels; ++c)
            for (int64_t kh = 0; kh < g.kernel_h; ++kh)
              for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
                const int64_t iy = oy * g.stride_h - g.pad_top + kh, ix = ox * g.stride_w - g.pad_left + kw;
                if (iy >= 0 && iy < g.in_h && ix >= 0 && ix < g.in_w) f(n, co, oy, ox, c, kh, kw, iy, ix);
              }
}

int64_t pool_in(const Pool2dGeometry& g, int64_t plane, int64_t y, int64_t x) {
  return (plane * g.in_h + y) * g.in_w + x;
}

// Calls f(plane, oy, ox, y0, y1, x0, x1) with each window clipped to the input.
template <typename F>
void for_each_window(const Pool2dGeometry& g, F f) {
  for (int64_t p = 0; p < g.batch * g.channels; ++p)
    for (int64_t oy = 0; oy < g.out_h; ++oy)
      for (int64_t ox = 0; ox < g.out_w; ++ox) {
        const int64_t y = oy * g.stride_h - g.pad_top, x = ox * g.stride_w - g.pad_left;
        f(p, oy, ox, std::max<int64_t>(y, 0), std::min(y + g.window_h, g.in_h), std::max<int64_t>(x, 0),
          std::min(x + g.window_w, g.in_w));
      }
}

}  // namespace

std::vector<double> conv2d_forward(const Conv2dGeometry& g, const std::vector<float>& input,
                                   const std::vector<float>& weight, const std::vector<float>& bias) {
  std::vector<double> out(g.batch * g.out_channels * g.out_pixels(), 0.0);
  if (!bias.empty())
    for (int64_t i = 0; i < static_cast<int64_t>(out.size()); ++i) out[i] = bias[(i / g.out_pixels()) % g.out_channels];
  for_each_tap(g, [&](int64_t n, int64_t co, int64_t oy, int64_t ox, int64_t c, int64_t kh, int64_t kw, int64_t iy,
                      int64_t ix) {
    out[out_index(g, n, co, oy, ox)] += double(input[in_index(g, n, c, iy, ix)]) * weight[weight_index(g, co, c, kh, kw)];
  });
  return out;
}

std::vector<double> conv2d_backward_data(const Conv2dGeometry& g, const std::vector<float>& output_grad,
                                         const std::vector<float>& weight) {
  std::vector<double> dx(g.batch * g.in_channels * g.in_h * g.in_w, 0.0);
  for_each_tap(g, [&](int64_t n, int64_t co, int64_t oy, int64_t ox, int64_t c, int64_t kh, int64_t kw, int64_t iy,
                      int64_t ix) {
    dx[in_index(g, n, c, iy, ix)] += double(output_grad[out_index(g, n, co, oy, ox)]) * weight[weight_index(g, co, c, kh, kw)];
  });
  return dx;
}

std::vector<double> conv2d_backward_weights(const Conv2dGeometry& g, const std::vector<float>& input,
                                            const std::vector<float>& output_grad) {
  std::vector<double> dw(g.out_channels * g.patch(), 0.0);
  for_each_tap(g, [&](int64_t n, int64_t co, int64_t oy, int64_t ox, int64_t c, int64_t kh, int64_t kw, int64_t iy,
                      int64_t ix) {
    dw[weight_index(g, co, c, kh, kw)] += double(output_grad[out_index(g, n, co, oy, ox)]) * input[in_index(g, n, c, iy, ix)];
  });
  return dw;
}

std::vector<double> conv2d_backward_bias(const Conv2dGeometry& g, const std::vector<float>& output_grad) {
  std::vector<double> db(g.out_channels, 0.0);
  for (int64_t i = 0; i < static_cast<int64_t>(output_grad.size()); ++i) db[(i / g.out_pixels()) % g.out_channels] += output_grad[i];
  return db;
}

std::vector<double> max_pool2d_forward(const Pool2dGeometry& g, const std::vector<float>& input) {
  std::vector<double> out(g.batch * g.channels * g.out_h * g.out_w);
  for_each_window(g, [&](int64_t p, int64_t oy, int64_t ox, int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    double best = -std::numeric_limits<double>::infinity();
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x) best = std::max<double>(best, input[pool_in(g, p, y, x)]);
    out[(p * g.out_h + oy) * g.out_w + ox] = best;
  });
  return out;
}

std::vector<double> max_pool2d_backward(const Pool2dGeometry& g, const std::vector<float>& input,
                                        const std::vector<float>& output_grad) {
  std::vector<double> dx(input.size(), 0.0);
  for_each_window(g, [&](int64_t p, int64_t oy, int64_t ox, int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    int64_t best = -1;
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x)
        if (best < 0 || input[pool_in(g, p, y, x)] > input[best]) best = pool_in(g, p, y, x);
    if (best >= 0) dx[best] += output_grad[(p * g.out_h + oy) * g.out_w + ox];
  });
  return dx;
}

std::vector<double> avg_pool2d_forward(const Pool2dGeometry& g, const std::vector<float>& input) {
  std::vector<double> out(g.batch * g.channels * g.out_h * g.out_w);
  for_each_window(g, [&](int64_t p, int64_t oy, int64_t ox, int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    double sum = 0.0;
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x) sum += input[pool_in(g, p, y, x)];
    out[(p * g.out_h + oy) * g.out_w + ox] = sum / double((y1 - y0) * (x1 - x0));
  });
  return out;
}

std::vector<double> avg_pool2d_backward(const Pool2dGeometry& g, const std::vector<float>& output_grad) {
  std::vector<double> dx(g.batch * g.channels * g.in_h * g.in_w, 0.0);
  for_each_window(g, [&](int64_t p, int64_t oy, int64_t ox, int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    const double share = output_grad[(p * g.out_h + oy) * g.out_w + ox] / double((y1 - y0) * (x1 - x0));
    for (int64_t y = y0; y < y1; ++y)
      for (int64_t x = x0; x < x1; ++x) dx[pool_in(g, p, y, x)] += share;
  });
  return dx;
}

std::vector<double> gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                         const float* b, int64_t ldb, double beta, const float* c, int64_t ldc) {
  std::vector<double> out(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = beta == 0.0 ? 0.0 : beta * c[i * ldc + j];
      for (int64_t p = 0; p < k; ++p)
        sum += double(trans_a ? a[p * lda + i] : a[i * lda + p]) * (trans_b ? b[j * ldb + p] : b[p * ldb + j]);
      out[i * n + j] = sum;
    }
  return out;
}

}  // namespace convoy::reference
