// Winograd F(2x2, 3x3) (Note [Winograd F(2x2, 3x3)]) as implementations of the three passes.
#pragma once

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// Stride-1 3x3 layers with enough channels that the transforms are small beside the GEMMs;
// first in every table, before the same convolution, which then serves the other `same`
// kernels (1x1, 5x5, even sizes). Forward pools too (its tiles are the pooling windows);
// backward-data of a pooled layer or on a narrow plane, and backward-weights on a narrow
// plane, leave it to the entries after.
extern const Conv2dForwardImpl kWinogradForward;
extern const Conv2dBackwardDataImpl kWinogradBackwardData;
extern const Conv2dBackwardWeightsImpl kWinogradBackwardWeights;

}  // namespace convoy
