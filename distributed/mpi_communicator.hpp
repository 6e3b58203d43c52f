// MpiCommunicator: the Communicator over Open MPI (a duplicate of MPI_COMM_WORLD).
#pragma once

#include <memory>
#include <string>

#include "distributed/communicator.hpp"

namespace convoy {

// Owns MPI's lifetime: the constructor calls MPI_Init_thread asking for MPI_THREAD_FUNNELED
// (only the main thread calls MPI; the loader's I/O thread never does), the destructor
// MPI_Finalize. One per process, made by main (see make_communicator). Collectives run on a
// duplicate of MPI_COMM_WORLD whose error handler returns codes instead of killing the job;
// every code is checked in one place and a failure throws CommError naming the operation, the
// rank and MPI's error string. Every wait, the blocking collectives' included, polls under a
// deadline (Note [Stall watchdog]): a peer that stops taking part makes it throw CommError.
//
// Note [Failing ranks]
// An exception on one rank must not leave the others waiting in a collective it will never
// join. main catches it, prints it with the rank and calls abort(), which ends every rank. If
// the communicator itself is destroyed by an exception unwinding past it with several ranks,
// its destructor aborts the job rather than calling MPI_Finalize, which would wait for the
// other ranks forever (Boost.MPI's environment does the same).
class MpiCommunicator final : public Communicator {
 public:
  // argc/argv may be null (MPI-2 onward allows it).
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
  // One request, so count must fit an MPI int (2^31 - 1 elements); buckets are far smaller.
  std::unique_ptr<CommRequest> iallreduce_sum(float* data, int64_t count) override;
  // MPI_Ialltoallv and MPI_Iallgatherv; a bucket's offsets are MPI ints.
  std::unique_ptr<CommRequest> iexchange_segments(const float* send, const int* offsets, float* recv) override;
  std::unique_ptr<CommRequest> iallgather_segments(const float* send, const int* offsets, float* recv) override;
  void allgather(const double* send, int64_t count, double* recv) override;
  void broadcast(void* data, int64_t bytes, int root) override;
  void barrier() override;
  void set_activity(const std::string& activity) override;
  void set_step(int64_t step) override;
  [[noreturn]] void abort(int exit_code) noexcept override;

 private:
  struct Impl;  // keeps <mpi.h> out of this header
  std::unique_ptr<Impl> impl_;
  int rank_ = 0;
  int size_ = 1;
  std::string host_;
};

}  // namespace convoy
