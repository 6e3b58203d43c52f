// Broadcasts of values whose size only the root knows: a string, a vector of floats.
#pragma once

#include <string>
#include <vector>

#include "distributed/communicator.hpp"

namespace convoy {

// Collectives: every rank calls them at the same point. The root's length goes first, so the
// other ranks can size their buffer; each returns (or leaves in `values`) the root's contents.
std::string broadcast_string(Communicator& comm, std::string text, int root);
void broadcast_floats(Communicator& comm, std::vector<float>& values, int root);

}  // namespace convoy
