// The reference convolution shapes: the one list the kernels are measured and their choice pinned on.
#pragma once

#include <cstdint>
#include <span>

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// A convolution with square kernel and equal padding on every side, as benchmarks write it:
// (N, Cin, H, W, Cout, K, pad), and the stride when it is not 1.
struct ReferenceConvShape {
  int64_t batch, in_channels, in_h, in_w, out_channels, kernel, pad, stride = 1;

  Conv2dGeometry geometry() const {
    return {.batch = batch,
            .in_channels = in_channels,
            .in_h = in_h,
            .in_w = in_w,
            .out_channels = out_channels,
            .out_h = (in_h + 2 * pad - kernel) / stride + 1,
            .out_w = (in_w + 2 * pad - kernel) / stride + 1,
            .kernel_h = kernel,
            .kernel_w = kernel,
            .stride_h = stride,
            .stride_w = stride,
            .pad_top = pad,
            .pad_left = pad};
  }
};

// keras-cnn's three layers, lenet5's first, ResNet's 1x1 64->256 expansion at 56x56, its 3x3/2
// 64->128 downsampling and its 7x7/2 stem at 224x224; resnet20's first-stage 3x3 and its 3x3/2
// at 32x32, a GoogLeNet 1x1 reduction at 4x4 and ResNet-18's last 3x3 at 2x2 (the zoo at 64x64
// inputs); and a ResNet stage-1 layer (the large shape, last).
// Read by `convoy bench --shapes` (whose output apps/bench/compare_pytorch.py reads back, so
// PyTorch runs the same list), the Google Benchmark apps/bench/conv_bench.cpp, and the test
// that pins each shape's kernels (tests/core/kernels/conv2d_kernels_test.cpp).
inline constexpr ReferenceConvShape kReferenceConvShapes[] = {
    {64, 1, 28, 28, 32, 3, 0},      {64, 32, 13, 13, 64, 3, 0},  {64, 64, 5, 5, 64, 3, 0},
    {64, 1, 28, 28, 6, 5, 2},       {32, 64, 56, 56, 256, 1, 0}, {32, 64, 56, 56, 128, 3, 1, 2},
    {32, 3, 224, 224, 64, 7, 3, 2}, {64, 16, 32, 32, 16, 3, 1},  {64, 16, 32, 32, 32, 3, 1, 2},
    {64, 480, 4, 4, 192, 1, 0},     {64, 512, 2, 2, 512, 3, 1},  {32, 64, 56, 56, 64, 3, 1},
};

}  // namespace convoy
