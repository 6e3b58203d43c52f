// The same convolution (Note [Same convolution]) as forward and backward-data implementations.
#pragma once

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// Stride-1 `same` layers with enough channels to fill the tiles and planes that waste few of
// the 32-pixel strips' lanes (the Winograd entries come first and take the 3x3 ones they want).
extern const Conv2dForwardImpl kSameConvForward;
extern const Conv2dBackwardDataImpl kSameConvBackwardData;

}  // namespace convoy
