// Agreement: small collectives all ranks call at the same point to decide together.
#pragma once

#include <cstdint>
#include <string>

#include "distributed/communicator.hpp"

namespace convoy {

// True on every rank if `flag` is true on any rank (stop, preempt).
bool any_rank(Communicator& comm, bool flag);

// Throws ConfigError on every rank if `value` is not the same on all ranks; the message names
// `what`, this rank's value and another rank's.
void check_same_on_all_ranks(Communicator& comm, uint64_t value, const std::string& what);

}  // namespace convoy
