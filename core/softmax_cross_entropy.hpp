// Softmax cross-entropy: the classification loss, fused with its gradient.
#pragma once

#include <cstdint>

#include "core/tensor.hpp"

namespace convoy {

struct LossStats {
  double loss_sum = 0.0;  // sum over the samples of -log softmax(logits)[label]
  int64_t correct = 0;    // samples whose arg-max logit is the label (first max on ties)
  int64_t count = 0;
};

// logits [N, K]; labels[N] in [0, K) (ConfigError naming the sample otherwise).
// If logits_grad is not null it is overwritten with grad_scale * (softmax(logits) - onehot(label)).
// The trainer passes grad_scale = 1 / global batch, so gradients summed over ranks are the
// gradient of the mean loss over the global batch. Stable for large logits (max subtracted).
LossStats softmax_cross_entropy(const Tensor& logits, const int32_t* labels, float grad_scale, Tensor* logits_grad);

}  // namespace convoy
