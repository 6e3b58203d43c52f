// MpiCommunicator: the Communicator over Open MPI (a duplicate of MPI_COMM_WORLD).
#pragma once

#include "distributed/communicator.hpp"

namespace convoy {

// Owns MPI's lifetime: the constructor calls MPI_Init_thread (MPI_THREAD_FUNNELED: only the
// main thread calls MPI; the loader's I/O thread never does), the destructor MPI_Finalize.
// One per process. Every MPI call's return code is checked; errors throw CommError with the
// operation and MPI's error string.
class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(int* argc, char*** argv);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string host() const override { return host_; }

  void allreduce_sum(float* data, int64_t count) override;
  void allreduce_sum(double* data, int64_t count) override;
  void allreduce_sum(int64_t* data, int64_t count) override;
  void allreduce_max(int64_t* data, int64_t count) override;
  std::unique_ptr<CommRequest> iallreduce_sum(float* data, int64_t count) override;
  void broadcast(void* data, int64_t bytes, int root) override;
  void barrier() override;
  [[noreturn]] void abort(int exit_code) noexcept override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1;
  std::string host_;
};

}  // namespace convoy
