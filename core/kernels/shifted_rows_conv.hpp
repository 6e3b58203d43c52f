// Stride-1 convolutions of wide planes by shifted rows (Note [Shifted rows]), band by band.
#pragma once

#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// Where the output is large enough to be cut into bands of rows (Note [Sample chunks]) and
// use_shifted_rows holds: the GEMMs read one padded copy of each band through row tables.
extern const Conv2dForwardImpl kShiftedRowsForward;
extern const Conv2dBackwardDataImpl kShiftedRowsBackwardData;
extern const Conv2dBackwardWeightsImpl kShiftedRowsBackwardWeights;

}  // namespace convoy
