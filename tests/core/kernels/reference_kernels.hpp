// Naive reference kernels (convolution, pooling, GEMM) in double precision, for tests only.
#pragma once

#include <cstdint>
#include <vector>

#include "core/kernels/conv2d_kernels.hpp"
#include "core/kernels/pool2d_kernels.hpp"

namespace convoy::reference {

// Plain loops straight from the definitions, accumulating in double. Layouts as the kernels':
// input [N, Cin, H, W], weight [Cout, Cin, KH, KW], bias [Cout] (empty: none),
// output [N, Cout, OH, OW]. g.fused_relu and g.fused_pool are ignored: these are the plain
// convolution and its two gradients.
std::vector<double> conv2d_forward(const Conv2dGeometry& g, const std::vector<float>& input,
                                   const std::vector<float>& weight, const std::vector<float>& bias);
// input_grad [N, Cin, H, W] = the adjoint of the convolution applied to output_grad.
std::vector<double> conv2d_backward_data(const Conv2dGeometry& g, const std::vector<float>& output_grad,
                                         const std::vector<float>& weight);
// weight_grad [Cout, Cin, KH, KW] = sum over samples and pixels of output_grad * input.
std::vector<double> conv2d_backward_weights(const Conv2dGeometry& g, const std::vector<float>& input,
                                            const std::vector<float>& output_grad);
// bias_grad [Cout] = sum of output_grad over samples and pixels.
std::vector<double> conv2d_backward_bias(const Conv2dGeometry& g, const std::vector<float>& output_grad);

// Max pool: padding never wins; backward sends each window's gradient to its first maximum
// (row-major order within the window).
std::vector<double> max_pool2d_forward(const Pool2dGeometry& g, const std::vector<float>& input);
std::vector<double> max_pool2d_backward(const Pool2dGeometry& g, const std::vector<float>& input,
                                        const std::vector<float>& output_grad);
// Average pool over the window's positions inside the input (padding not counted).
std::vector<double> avg_pool2d_forward(const Pool2dGeometry& g, const std::vector<float>& input);
std::vector<double> avg_pool2d_backward(const Pool2dGeometry& g, const std::vector<float>& output_grad);

// C [m, n] = beta * c + op(A) * op(B), row-major with leading dimensions; returns the m x n
// result densely ([m, n], row stride n).
std::vector<double> gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                         const float* b, int64_t ldb, double beta, const float* c, int64_t ldc);

}  // namespace convoy::reference
