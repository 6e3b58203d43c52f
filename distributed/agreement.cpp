#include "distributed/agreement.hpp"

#include <bit>

#include "core/error.hpp"

namespace convoy {

bool any_rank(Communicator& comm, bool flag) {
  if (comm.size() == 1) return flag;
  int64_t v = flag ? 1 : 0;
  comm.allreduce_max(&v, 1);
  return v != 0;
}

void check_same_on_all_ranks(Communicator& comm, uint64_t value, const std::string& what) {
  if (comm.size() == 1) return;
  // Equal everywhere iff the maximum of the value and the maximum of its complement are ours.
  int64_t v[2] = {std::bit_cast<int64_t>(value), std::bit_cast<int64_t>(~value)};
  comm.allreduce_max(v, 2);
  const uint64_t high = std::bit_cast<uint64_t>(v[0]);
  const uint64_t low = ~std::bit_cast<uint64_t>(v[1]);
  CONVOY_CHECK(high == value && low == value, ConfigError, "ranks disagree on the ", what, ": rank ", comm.rank(),
               " has ", std::hex, value, ", another rank has ", (high != value ? high : low),
               " (same binary, data and options on every rank?)");
}

}  // namespace convoy
