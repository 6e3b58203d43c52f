// The machine's arithmetic ceiling: what an FMA loop sustains on one core, to set kernels against.
#pragma once

namespace convoy {

// GFLOP/s of independent fused multiply-adds on the calling thread with the active ISA's widest
// vectors (AVX-512, AVX2; the portable build's scalar loop otherwise), run for about `seconds`.
double measure_fma_peak(double seconds);

}  // namespace convoy
