// evaluate: loss and accuracy of a model over a whole dataset, sharded over the ranks.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/batch_reader.hpp"
#include "core/model.hpp"
#include "distributed/communicator.hpp"
#include "distributed/training_observer.hpp"

namespace convoy {

// Rank r evaluates the contiguous shard [N r / P, N (r+1) / P) in batches of at most
// min(batch, model.max_batch()); sums are all-reduced, so every rank returns the same report.
// With `confusion`, also the confusion matrix over all ranks, [true][predicted] as
// confusion[true * classes + predicted] for the model's classes; the predicted class is the
// first largest logit, as the accuracy counts it. `on_batch`, if given, sees each of this
// rank's batches with the model's output [n, classes] (the logits) before the loss is taken.
using EvalBatchHook = std::function<void(const Batch& batch, const Tensor& logits)>;
EvalReport evaluate(Model& model, BatchReader& data, Communicator& comm, int threads, int64_t batch,
                    std::vector<int64_t>* confusion = nullptr, const EvalBatchHook& on_batch = {});

}  // namespace convoy
