#include "core/softmax_cross_entropy.hpp"

#include <cmath>

#include "core/error.hpp"

namespace convoy {

LossStats softmax_cross_entropy(const Tensor& logits, const int32_t* labels, float grad_scale, Tensor* logits_grad) {
  CONVOY_ASSERT(logits.shape().rank() == 2);
  const int64_t n = logits.shape()[0], k = logits.shape()[1];
  LossStats stats;
  stats.count = n;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t label = labels[i];
    CONVOY_CHECK(label >= 0 && label < k, ConfigError, "label ", label, " of batch sample ", i,
                 ": expected a class in [0, ", k, ")");
    const float* z = logits.data() + i * k;
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (z[j] > z[best]) best = j;
    // log-sum-exp in double around the max, so neither overflow nor cancellation bites.
    double sum = 0.0;
    for (int64_t j = 0; j < k; ++j) sum += std::exp(static_cast<double>(z[j]) - z[best]);
    const double log_sum = std::log(sum) + z[best];
    stats.loss_sum += log_sum - z[label];
    stats.correct += best == label;
    if (logits_grad != nullptr) {
      float* g = logits_grad->data() + i * k;
      for (int64_t j = 0; j < k; ++j) {
        const double p = std::exp(static_cast<double>(z[j]) - log_sum);
        g[j] = static_cast<float>((p - (j == label ? 1.0 : 0.0)) * grad_scale);
      }
    }
  }
  return stats;
}

}  // namespace convoy
