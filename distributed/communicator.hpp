// Communicator: the one interface the trainer talks to; world-of-one and Open MPI implement it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace convoy {

// A non-blocking collective in flight. wait() blocks until it completes; destroying an
// unfinished request waits for it (buffers must outlive it either way).
class CommRequest {
 public:
  virtual ~CommRequest() = default;
  virtual void wait() = 0;
  virtual bool test() = 0;  // true once complete; drives progress
};

// Note [One code path]
// Single-node training is a world of size 1: the trainer never asks "is this MPI?", it calls
// these collectives, which the world-of-one implementation completes at once. All collectives
// must be called by every rank in the same order. Errors throw CommError naming the operation
// and the MPI error string.
class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string host() const = 0;  // this rank's host name, for start-up lines and errors

  // In-place element-wise sums over all ranks.
  virtual void allreduce_sum(float* data, int64_t count) = 0;
  virtual void allreduce_sum(double* data, int64_t count) = 0;
  virtual void allreduce_sum(int64_t* data, int64_t count) = 0;
  virtual void allreduce_max(int64_t* data, int64_t count) = 0;
  // Starts an in-place float sum; the data must not be touched until the request completes.
  virtual std::unique_ptr<CommRequest> iallreduce_sum(float* data, int64_t count) = 0;
  // The two halves of a sum over ranks in an order of our choosing (Note [Ordered reduction]).
  // A buffer is cut into size() segments, segment r being floats [offsets[r], offsets[r + 1])
  // (offsets: size() + 1 ascending ints, the same on every rank).
  // iexchange_segments starts sending segment r of `send` to rank r, and receiving every rank's
  // segment rank() into recv [size(), mine] (rank r's in row r; mine = this rank's segment size).
  // iallgather_segments starts gathering segment r, `send` on rank r, into recv + offsets[r].
  // Neither the buffers nor offsets may be touched until the request completes.
  // Every rank must start collectives in one order, as MPI requires, except that the gathers
  // keep an order of their own: a rank may start one before or after another rank's other
  // collectives (so a gather can follow its exchange's arrival, which differs between ranks).
  virtual std::unique_ptr<CommRequest> iexchange_segments(const float* send, const int* offsets, float* recv) = 0;
  virtual std::unique_ptr<CommRequest> iallgather_segments(const float* send, const int* offsets, float* recv) = 0;
  // Gathers every rank's `count` doubles: recv [size(), count] gets rank r's send in row r.
  virtual void allgather(const double* send, int64_t count, double* recv) = 0;
  // Copies root's bytes to every rank.
  virtual void broadcast(void* data, int64_t bytes, int root) = 0;
  virtual void barrier() = 0;
  // What this rank is doing ("training, epoch 2 step 40"), named when a collective stalls
  // (Note [Stall watchdog] in distributed/watchdog.hpp). The world of one ignores it.
  virtual void set_activity(const std::string& activity) {}
  // The training step being computed or reported (1-based, over the whole run), or -1 outside
  // the training loop; set by the trainer before every step, so it must not allocate.
  virtual void set_step(int64_t step) {}
  // Ends every rank of the job at once (MPI_Abort); used only by main after an exception.
  [[noreturn]] virtual void abort(int exit_code) noexcept = 0;
};

}  // namespace convoy
