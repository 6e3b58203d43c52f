// LocalCommunicator: the world of one rank, for single-node training and builds without MPI.
#pragma once

#include "distributed/communicator.hpp"

namespace convoy {

// Every collective is complete at once and leaves data as it is (a sum over one rank).
class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string host() const override;

  void allreduce_sum(float*, int64_t) override {}
  void allreduce_sum(double*, int64_t) override {}
  void allreduce_sum(int64_t*, int64_t) override {}
  void allreduce_max(int64_t*, int64_t) override {}
  std::unique_ptr<CommRequest> iallreduce_sum(float* data, int64_t count) override;
  // Copies: one segment, from send to recv.
  std::unique_ptr<CommRequest> iexchange_segments(const float* send, const int* offsets, float* recv) override;
  std::unique_ptr<CommRequest> iallgather_segments(const float* send, const int* offsets, float* recv) override;
  void allgather(const double* send, int64_t count, double* recv) override;                        // a copy
  void broadcast(void*, int64_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int exit_code) noexcept override;
};

}  // namespace convoy
