#include "distributed/local_communicator.hpp"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace convoy {
namespace {

class CompletedRequest final : public CommRequest {
 public:
  void wait() override {}
  bool test() override { return true; }
};

}  // namespace

std::string LocalCommunicator::host() const {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

std::unique_ptr<CommRequest> LocalCommunicator::iallreduce_sum(float*, int64_t) {
  return std::make_unique<CompletedRequest>();
}

std::unique_ptr<CommRequest> LocalCommunicator::iexchange_segments(const float* send, const int* offsets, float* recv) {
  const int64_t count = offsets[1] - offsets[0];
  if (count > 0 && send + offsets[0] != recv)
    std::memmove(recv, send + offsets[0], static_cast<size_t>(count) * sizeof(float));
  return std::make_unique<CompletedRequest>();
}

std::unique_ptr<CommRequest> LocalCommunicator::iallgather_segments(const float* send, const int* offsets,
                                                                    float* recv) {
  const int64_t count = offsets[1] - offsets[0];
  if (count > 0 && send != recv + offsets[0])
    std::memmove(recv + offsets[0], send, static_cast<size_t>(count) * sizeof(float));
  return std::make_unique<CompletedRequest>();
}

void LocalCommunicator::allgather(const double* send, int64_t count, double* recv) {
  if (count > 0 && send != recv) std::memmove(recv, send, static_cast<size_t>(count) * sizeof(double));
}

void LocalCommunicator::abort(int exit_code) noexcept { std::_Exit(exit_code); }

}  // namespace convoy
