// CommRankSum: the sums over ranks a layer makes inside a pass, over a Communicator.
#pragma once

#include <vector>

#include "core/layer.hpp"
#include "distributed/communicator.hpp"

namespace convoy {

// Note [Sums over ranks in a pass]: gathers every rank's vector and adds them in the fixed tree,
// rank 0 first, so the result has the same bits on every rank and, under the README's
// conditions, the bits of one rank. One small all-gather per call.
class CommRankSum final : public RankSum {
 public:
  explicit CommRankSum(Communicator& comm) : comm_(comm) {}
  void sum(double* values, int64_t count) const override;
  // Seconds spent in sum() so far, waiting for the other ranks' vectors included.
  double seconds() const { return seconds_; }

 private:
  Communicator& comm_;
  mutable double seconds_ = 0.0;
  mutable std::vector<double> gathered_, column_;  // grown to the largest call, then reused
};

}  // namespace convoy
