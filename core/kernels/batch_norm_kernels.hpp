// Batch-norm kernels: per-channel sums over a batch in the fixed tree, and the per-element passes.
#pragma once

#include <cstdint>

namespace convoy {

// Every kernel here reads or writes activations x [n, channels, plane] (plane = H * W, or 1
// after a dense layer) and is parallel over channels with a static schedule: each channel is
// summed by one thread in one order, so the bits do not depend on the thread count.
struct ChannelBlock {
  int64_t n = 0;         // samples
  int64_t channels = 0;
  int64_t plane = 1;     // elements of one channel of one sample
  int threads = 1;
};

// Doubles of scratch the sums below need.
int64_t channel_sums_scratch(const ChannelBlock& b);

// Note [Batch statistics in the tree]
// Statistics are sums over (samples, plane) per channel. Each group of kWeightGradGroup
// consecutive samples is summed in double in sample order (each sample's row in vector lanes
// whose order this binary fixes, the same on every rank); the group sums are then added in the
// fixed tree of Note [Fixed summation tree] (in double for statistics, in float for the
// parameter gradients, so that the gradient reducer's float tree continues it), and the ranks'
// sums in the same tree by PassContext::sum_over_ranks. A rank holding a power-of-two number of
// whole groups then computes one subtree, so P ranks get one rank's bits. Statistics take two
// passes (the mean, then the squares of the distances to it), never a float sum of squares.
// The kernels are compiled once per ISA (AVX-512, AVX2, portable) and active_isa() picks one:
// the lane order is fixed by the binary and the ISA, so ranks on one kind of CPU agree, as the
// convolutions' bits also depend on the ISA.

// out[c] = the tree sum of x (center == nullptr) or of (x - center[c])^2 over channel c.
void channel_sums(const float* x, const float* center, const ChannelBlock& b, double* out, double* scratch);

// For backward, with xhat = (x - mean) * inv_std: the tree sums of dy and of dy * xhat per
// channel, in double (sum_dy, sum_dy_xhat, for the input gradient) and in the float tree
// (added into beta_grad and gamma_grad when those are not null). With a gate (the output of a
// fused ReLU), dy counts only where gate > 0. One pass over dy, gate and x.
void channel_gradient_sums(const float* dy, const float* gate, const float* x, const float* mean,
                           const float* inv_std, const ChannelBlock& b, double* sum_dy, double* sum_dy_xhat,
                           float* gamma_grad, float* beta_grad, double* scratch);

// y = x * scale[c] + shift[c], plus residual (when not null), then max(y, 0) if relu: batch norm,
// a residual add and a ReLU in one pass, rounded as the three separate layers round. y may be x.
void channel_affine(const float* x, const float* scale, const float* shift, const float* residual, bool relu,
                    const ChannelBlock& b, float* y);

// dx = k[c] * (dy - mean_dy[c] - (x - mean[c]) * inv_std[c] * mean_dy_xhat[c]), the gradient of
// training-mode batch norm, with k = gamma * inv_std and the means over the global batch; dy
// gated as in channel_gradient_sums. residual_grad (when not null) gets the gated dy: the
// gradient of a residual input added before the ReLU.
void batch_norm_input_grad(const float* dy, const float* gate, const float* x, const float* mean, const float* inv_std,
                           const float* k, const float* mean_dy, const float* mean_dy_xhat, const ChannelBlock& b,
                           float* dx, float* residual_grad);

}  // namespace convoy
