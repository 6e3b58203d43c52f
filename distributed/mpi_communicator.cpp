#include "distributed/mpi_communicator.hpp"

#include <mpi.h>

#include <climits>
#include <cstdlib>

#include "core/error.hpp"

namespace convoy {
namespace {

// The one place MPI return codes are checked.
void check(int code, const char* operation) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw CommError(std::string("MPI ") + operation + " failed: " + std::string(text, length));
}

int as_count(int64_t count, const char* operation) {
  CONVOY_CHECK(count >= 0 && count <= INT_MAX, CommError, "MPI ", operation, ": ", count,
               " elements exceed one message; split it");
  return static_cast<int>(count);
}

class MpiRequest final : public CommRequest {
 public:
  ~MpiRequest() override {
    // A request must complete before its buffer can be reused; errors cannot escape here.
    if (request_ != MPI_REQUEST_NULL) MPI_Wait(&request_, MPI_STATUS_IGNORE);
  }
  void wait() override {
    if (request_ != MPI_REQUEST_NULL) check(MPI_Wait(&request_, MPI_STATUS_IGNORE), "Wait (Iallreduce)");
  }
  bool test() override {
    if (request_ == MPI_REQUEST_NULL) return true;
    int done = 0;
    check(MPI_Test(&request_, &done, MPI_STATUS_IGNORE), "Test (Iallreduce)");
    return done != 0;
  }
  MPI_Request request_ = MPI_REQUEST_NULL;
};

}  // namespace

struct MpiCommunicator::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
};

MpiCommunicator::MpiCommunicator(int* argc, char*** argv) : impl_(std::make_unique<Impl>()) {
  int provided = 0;
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "Init_thread");
  CONVOY_CHECK(provided >= MPI_THREAD_FUNNELED, CommError,
               "MPI provides thread level ", provided, ", Convoy needs MPI_THREAD_FUNNELED");
  check(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->comm), "Comm_dup");
  check(MPI_Comm_set_errhandler(impl_->comm, MPI_ERRORS_RETURN), "Comm_set_errhandler");
  check(MPI_Comm_rank(impl_->comm, &rank_), "Comm_rank");
  check(MPI_Comm_size(impl_->comm, &size_), "Comm_size");
  char name[MPI_MAX_PROCESSOR_NAME] = {};
  int length = 0;
  check(MPI_Get_processor_name(name, &length), "Get_processor_name");
  host_.assign(name, length);
}

MpiCommunicator::~MpiCommunicator() {
  if (impl_->comm != MPI_COMM_NULL) MPI_Comm_free(&impl_->comm);
  MPI_Finalize();
}

void MpiCommunicator::allreduce_sum(float* data, int64_t count) {
  check(MPI_Allreduce(MPI_IN_PLACE, data, as_count(count, "Allreduce"), MPI_FLOAT, MPI_SUM, impl_->comm),
        "Allreduce (float sum)");
}

void MpiCommunicator::allreduce_sum(double* data, int64_t count) {
  check(MPI_Allreduce(MPI_IN_PLACE, data, as_count(count, "Allreduce"), MPI_DOUBLE, MPI_SUM, impl_->comm),
        "Allreduce (double sum)");
}

void MpiCommunicator::allreduce_sum(int64_t* data, int64_t count) {
  check(MPI_Allreduce(MPI_IN_PLACE, data, as_count(count, "Allreduce"), MPI_INT64_T, MPI_SUM, impl_->comm),
        "Allreduce (int64 sum)");
}

void MpiCommunicator::allreduce_max(int64_t* data, int64_t count) {
  check(MPI_Allreduce(MPI_IN_PLACE, data, as_count(count, "Allreduce"), MPI_INT64_T, MPI_MAX, impl_->comm),
        "Allreduce (int64 max)");
}

std::unique_ptr<CommRequest> MpiCommunicator::iallreduce_sum(float* data, int64_t count) {
  auto request = std::make_unique<MpiRequest>();
  check(MPI_Iallreduce(MPI_IN_PLACE, data, as_count(count, "Iallreduce"), MPI_FLOAT, MPI_SUM, impl_->comm,
                       &request->request_),
        "Iallreduce (float sum)");
  return request;
}

void MpiCommunicator::broadcast(void* data, int64_t bytes, int root) {
  // Large broadcasts go in pieces below INT_MAX bytes.
  auto* p = static_cast<char*>(data);
  constexpr int64_t kPiece = 1 << 30;
  for (int64_t done = 0; done < bytes; done += kPiece)
    check(MPI_Bcast(p + done, static_cast<int>(std::min(kPiece, bytes - done)), MPI_BYTE, root, impl_->comm), "Bcast");
}

void MpiCommunicator::barrier() { check(MPI_Barrier(impl_->comm), "Barrier"); }

void MpiCommunicator::abort(int exit_code) noexcept {
  MPI_Abort(impl_->comm != MPI_COMM_NULL ? impl_->comm : MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

}  // namespace convoy
