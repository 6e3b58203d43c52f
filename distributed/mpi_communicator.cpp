#include "distributed/mpi_communicator.hpp"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "distributed/watchdog.hpp"

namespace convoy {
namespace {

// The one place MPI return codes are checked (the communicator's handler is MPI_ERRORS_RETURN).
// rank < 0: not known yet.
void check(int code, const char* operation, int rank) {
  if (code == MPI_SUCCESS) [[likely]]
    return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) length = 0;
  const std::string where = rank >= 0 ? " on rank " + std::to_string(rank) : "";
  throw CommError(detail::concat("MPI_", operation, " failed", where, ": ",
                                 length > 0 ? std::string(text, length) : "error code " + std::to_string(code)));
}

int as_int_count(int64_t count, const char* operation) {
  CONVOY_CHECK(count >= 0 && count <= INT_MAX, CommError, "MPI_", operation, ": ", count,
               " elements; expected 0 to ", INT_MAX, " in one request");
  return static_cast<int>(count);
}

// A non-blocking collective whose wait() polls under the watchdog (Note [Stall watchdog]).
class MpiRequest final : public CommRequest {
 public:
  // `operation` names it in errors: "Iallreduce (float sum, 4096 elements)".
  MpiRequest(int rank, std::string operation, StallWatchdog& watchdog)
      : rank_(rank), operation_(std::move(operation)), test_name_("Test (" + operation_ + ")"), watchdog_(watchdog) {}
  ~MpiRequest() override {
    // The buffer may be reused only after completion; an error cannot escape a destructor.
    // While an exception unwinds (a failed or stalled collective), main is about to abort the
    // job (Note [Failing ranks]) and this wait might never end: skip it.
    if (request_ != MPI_REQUEST_NULL && std::uncaught_exceptions() == 0) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  void wait() override {
    if (request_ != MPI_REQUEST_NULL) watchdog_.wait(operation_, [this] { return test(); });
  }
  bool test() override {
    if (request_ == MPI_REQUEST_NULL) return true;
    int done = 0;
    check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), test_name_.c_str(), rank_);
    return done != 0;  // a completed request is set to MPI_REQUEST_NULL by MPI
  }

  MPI_Request request_ = MPI_REQUEST_NULL;
  std::vector<int> arrays_;  // the counts and displacements of a v-collective, alive until it completes

 private:
  int rank_;
  std::string operation_;
  std::string test_name_;
  StallWatchdog& watchdog_;
};

// Blocking collectives take an int count: larger buffers go in pieces, all ranks cutting alike.
template <typename T, typename Call>
void in_pieces(T* data, int64_t count, Call call) {
  CONVOY_CHECK(count >= 0, CommError, "collective on ", count, " elements: expected a count >= 0");
  constexpr int64_t kPiece = int64_t{1} << 30;
  for (int64_t done = 0; done < count; done += kPiece)
    call(data + done, static_cast<int>(std::min(kPiece, count - done)));
}

}  // namespace

// MPI's lifetime: initialised when Impl is built, finalised when it is destroyed, so a
// constructor that throws after MPI_Init_thread still finalises.
struct MpiCommunicator::Impl {
  struct Environment {
    Environment(int* argc, char*** argv) {
      int provided = 0;
      // MPI_COMM_WORLD's handler is still MPI_ERRORS_ARE_FATAL here; the check is for form.
      check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "Init_thread", -1);
      if (provided < MPI_THREAD_FUNNELED) {
        MPI_Finalize();
        throw CommError(detail::concat("MPI_Init_thread: this MPI provides thread level ", provided,
                                       ", Convoy needs MPI_THREAD_FUNNELED (", MPI_THREAD_FUNNELED, ")"));
      }
    }
    ~Environment() { MPI_Finalize(); }
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;
  };

  Impl(int* argc, char*** argv) : environment(argc, argv) {}
  ~Impl() {
    // Note [Failing ranks]: freeing and finalising while an exception unwinds past us would
    // wait for ranks that are still in a collective this rank will never join. Exit code 1 is
    // convoy's kExitError.
    int world = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (std::uncaught_exceptions() > 0 && world > 1) MPI_Abort(comm != MPI_COMM_NULL ? comm : MPI_COMM_WORLD, 1);
    if (gathers != MPI_COMM_NULL) MPI_Comm_free(&gathers);
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }

  // A blocking collective: the non-blocking one, waited for under the watchdog. `operation`
  // names it in errors as the caller knows it ("Bcast").
  template <typename Start>
  void run(const char* operation, int64_t count, int rank, Start start) {
    MpiRequest request(rank, detail::concat(operation, " (", count, " elements)"), watchdog);
    check(start(&request.request_), operation, rank);
    request.wait();
  }

  Environment environment;  // first member: finalised last
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm gathers = MPI_COMM_NULL;  // iallgather_segments' own order (communicator.hpp)
  StallWatchdog watchdog = StallWatchdog::from_environment();
};

MpiCommunicator::MpiCommunicator(int* argc, char*** argv) : impl_(std::make_unique<Impl>(argc, argv)) {
  int world_rank = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  // Our own communicator: library traffic cannot match other users of MPI_COMM_WORLD.
  check(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->comm), "Comm_dup", world_rank);
  check(MPI_Comm_set_errhandler(impl_->comm, MPI_ERRORS_RETURN), "Comm_set_errhandler", world_rank);
  check(MPI_Comm_dup(impl_->comm, &impl_->gathers), "Comm_dup", world_rank);
  check(MPI_Comm_rank(impl_->comm, &rank_), "Comm_rank", world_rank);
  check(MPI_Comm_size(impl_->comm, &size_), "Comm_size", world_rank);
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  check(MPI_Get_processor_name(name, &length), "Get_processor_name", rank_);
  host_.assign(name, length);
}

MpiCommunicator::~MpiCommunicator() = default;

void MpiCommunicator::allreduce_sum(float* data, int64_t count) {
  in_pieces(data, count, [&](float* p, int n) {
    impl_->run("Allreduce (float sum)", n, rank_, [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, p, n, MPI_FLOAT, MPI_SUM, impl_->comm, r);
    });
  });
}

void MpiCommunicator::allreduce_sum(double* data, int64_t count) {
  in_pieces(data, count, [&](double* p, int n) {
    impl_->run("Allreduce (double sum)", n, rank_, [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, p, n, MPI_DOUBLE, MPI_SUM, impl_->comm, r);
    });
  });
}

void MpiCommunicator::allreduce_sum(int64_t* data, int64_t count) {
  in_pieces(data, count, [&](int64_t* p, int n) {
    impl_->run("Allreduce (int64 sum)", n, rank_, [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, p, n, MPI_INT64_T, MPI_SUM, impl_->comm, r);
    });
  });
}

void MpiCommunicator::allreduce_max(int64_t* data, int64_t count) {
  in_pieces(data, count, [&](int64_t* p, int n) {
    impl_->run("Allreduce (int64 max)", n, rank_, [&](MPI_Request* r) {
      return MPI_Iallreduce(MPI_IN_PLACE, p, n, MPI_INT64_T, MPI_MAX, impl_->comm, r);
    });
  });
}

std::unique_ptr<CommRequest> MpiCommunicator::iallreduce_sum(float* data, int64_t count) {
  const int n = as_int_count(count, "Iallreduce");
  auto request =
      std::make_unique<MpiRequest>(rank_, detail::concat("Iallreduce (float sum, ", n, " elements)"), impl_->watchdog);
  check(MPI_Iallreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_SUM, impl_->comm, &request->request_),
        "Iallreduce (float sum)", rank_);
  return request;
}

std::unique_ptr<CommRequest> MpiCommunicator::iexchange_segments(const float* send, const int* offsets, float* recv) {
  const int mine = offsets[rank_ + 1] - offsets[rank_];
  auto request = std::make_unique<MpiRequest>(
      rank_, detail::concat("Ialltoallv (float, ", offsets[size_] - offsets[0], " elements in ", size_, " segments)"),
      impl_->watchdog);
  // The count and displacement arrays must live until the request completes: the request keeps them.
  std::vector<int>& a = request->arrays_;
  a.resize(4 * static_cast<size_t>(size_));
  int *send_counts = a.data(), *send_displs = send_counts + size_, *recv_counts = send_displs + size_,
      *recv_displs = recv_counts + size_;
  for (int r = 0; r < size_; ++r) {
    send_counts[r] = offsets[r + 1] - offsets[r];
    send_displs[r] = offsets[r];
    recv_counts[r] = mine;
    recv_displs[r] = r * mine;
  }
  check(MPI_Ialltoallv(send, send_counts, send_displs, MPI_FLOAT, recv, recv_counts, recv_displs, MPI_FLOAT,
                       impl_->comm, &request->request_),
        "Ialltoallv (float)", rank_);
  return request;
}

std::unique_ptr<CommRequest> MpiCommunicator::iallgather_segments(const float* send, const int* offsets, float* recv) {
  const int mine = offsets[rank_ + 1] - offsets[rank_];
  auto request = std::make_unique<MpiRequest>(
      rank_, detail::concat("Iallgatherv (float, ", offsets[size_] - offsets[0], " elements in ", size_, " segments)"),
      impl_->watchdog);
  std::vector<int>& a = request->arrays_;
  a.resize(2 * static_cast<size_t>(size_));
  int *counts = a.data(), *displs = counts + size_;
  for (int r = 0; r < size_; ++r) {
    counts[r] = offsets[r + 1] - offsets[r];
    displs[r] = offsets[r];
  }
  check(MPI_Iallgatherv(send, mine, MPI_FLOAT, recv, counts, displs, MPI_FLOAT, impl_->gathers, &request->request_),
        "Iallgatherv (float)", rank_);
  return request;
}

void MpiCommunicator::allgather(const double* send, int64_t count, double* recv) {
  const int n = as_int_count(count, "Allgather");
  impl_->run("Allgather (double)", n, rank_, [&](MPI_Request* r) {
    return MPI_Iallgather(send, n, MPI_DOUBLE, recv, n, MPI_DOUBLE, impl_->comm, r);
  });
}

void MpiCommunicator::broadcast(void* data, int64_t bytes, int root) {
  // The root is checked by MPI itself (MPI_ERR_ROOT), identically on every rank.
  in_pieces(static_cast<char*>(data), bytes, [&](char* p, int n) {
    impl_->run("Bcast", n, rank_, [&](MPI_Request* r) { return MPI_Ibcast(p, n, MPI_BYTE, root, impl_->comm, r); });
  });
}

void MpiCommunicator::barrier() {
  impl_->run("Barrier", 0, rank_, [&](MPI_Request* r) { return MPI_Ibarrier(impl_->comm, r); });
}

void MpiCommunicator::set_activity(const std::string& activity) { impl_->watchdog.set_activity(activity); }

void MpiCommunicator::set_step(int64_t step) { impl_->watchdog.set_step(step); }

void MpiCommunicator::abort(int exit_code) noexcept {
  MPI_Abort(impl_->comm != MPI_COMM_NULL ? impl_->comm : MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return in Open MPI; this keeps [[noreturn]] honest
}

}  // namespace convoy
