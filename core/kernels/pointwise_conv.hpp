// 1x1 convolutions (GoogLeNet's reductions, ResNet's projection shortcuts) as plain GEMMs.
#pragma once

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// Note [1x1 convolutions as GEMMs]
// Without padding, a 1x1 convolution of stride 1 is, per sample, output [Cout, OH*OW] = weight
// [Cout, Cin] . input [Cin, H*W]: the input is the GEMM's B as it lies, and the output its C.
// So forward multiplies straight into the output (the bias and ReLU then run over the band
// while it is in cache), backward-data straight into the input gradient (input_grad [Cin, H*W]
// = weight^T . output_grad), and backward-weights reads the input in place (dW [Cout, Cin] +=
// output_grad . input^T): no im2col, no col2im, no intermediate result. With stride s the
// subsampled pixels (1/s^2 of the input) are gathered into a band first, and backward-data
// scatters its result back among zeros. Work items are bands of about kChunkColumns output
// pixels of one sample, fixed by the geometry; the weight gradient sums a group's bands in
// order (Note [Weight-gradient groups]). Not with the fused pool (it stays with im2col), and not
// on small planes, where GEMMs spanning samples win.
extern const Conv2dForwardImpl kPointwiseForward;
extern const Conv2dBackwardDataImpl kPointwiseBackwardData;
extern const Conv2dBackwardWeightsImpl kPointwiseBackwardWeights;

}  // namespace convoy
