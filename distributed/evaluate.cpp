#include "distributed/evaluate.hpp"

#include <algorithm>
#include <vector>

#include "core/softmax_cross_entropy.hpp"

namespace convoy {

namespace {

// Adds each sample's (label, first largest logit) of logits [n, classes] to counts.
void count_predictions(const Tensor& logits, const std::vector<int32_t>& labels, std::vector<int64_t>& counts) {
  const int64_t n = logits.shape()[0], k = logits.shape()[1];
  for (int64_t i = 0; i < n; ++i) {
    const float* z = logits.data() + i * k;
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (z[j] > z[best]) best = j;
    counts[labels[i] * k + best] += 1;
  }
}

}  // namespace

EvalReport evaluate(Model& model, BatchReader& data, Communicator& comm, int threads, int64_t batch,
                    std::vector<int64_t>* confusion, const EvalBatchHook& on_batch) {
  const int64_t classes = model.spec().classes;
  if (confusion != nullptr) confusion->assign(classes * classes, 0);
  const int64_t size = data.info().size;
  const int64_t begin = size * comm.rank() / comm.size(), end = size * (comm.rank() + 1) / comm.size();
  const int64_t step = std::max<int64_t>(1, std::min(batch, model.max_batch()));
  std::vector<std::vector<int64_t>> plan;
  for (int64_t i = begin; i < end; i += step) {
    std::vector<int64_t> indices;
    for (int64_t j = i; j < std::min(end, i + step); ++j) indices.push_back(j);
    plan.push_back(std::move(indices));
  }
  const size_t batches = plan.size();
  data.plan(std::move(plan));
  PassContext ctx;
  ctx.threads = threads;
  ctx.training = false;
  double sums[3] = {0.0, 0.0, 0.0};  // loss, correct, samples
  for (size_t b = 0; b < batches; ++b) {
    const Batch& next = data.next();
    const Tensor& logits = model.forward(next.images, ctx);
    if (on_batch) on_batch(next, logits);
    // Checks every label is in [0, classes) before count_predictions indexes by it.
    const LossStats stats = softmax_cross_entropy(logits, next.labels.data(), 1.0f, nullptr);
    if (confusion != nullptr) count_predictions(logits, next.labels, *confusion);
    sums[0] += stats.loss_sum;
    sums[1] += static_cast<double>(stats.correct);
    sums[2] += static_cast<double>(stats.count);
  }
  comm.allreduce_sum(sums, 3);
  if (confusion != nullptr) comm.allreduce_sum(confusion->data(), classes * classes);
  EvalReport r;
  r.samples = static_cast<int64_t>(sums[2]);
  r.loss = sums[2] > 0 ? sums[0] / sums[2] : 0.0;
  r.accuracy = sums[2] > 0 ? sums[1] / sums[2] : 0.0;
  return r;
}

}  // namespace convoy
