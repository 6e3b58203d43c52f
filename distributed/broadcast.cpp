#include "distributed/broadcast.hpp"

#include <cstdint>

namespace convoy {

std::string broadcast_string(Communicator& comm, std::string text, int root) {
  int64_t length = static_cast<int64_t>(text.size());
  comm.broadcast(&length, sizeof length, root);
  text.resize(static_cast<size_t>(length));
  comm.broadcast(text.data(), length, root);
  return text;
}

void broadcast_floats(Communicator& comm, std::vector<float>& values, int root) {
  int64_t count = static_cast<int64_t>(values.size());
  comm.broadcast(&count, sizeof count, root);
  values.resize(static_cast<size_t>(count));
  comm.broadcast(values.data(), count * static_cast<int64_t>(sizeof(float)), root);
}

}  // namespace convoy
