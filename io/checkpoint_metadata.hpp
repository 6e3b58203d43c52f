// The metadata section of a checkpoint: a TrainingState's scalars and texts through Boost.Serialization.
#pragma once

#include <string>
#include <string_view>

#include "io/training_state.hpp"

namespace convoy {

// Every field of the state except model_fingerprint (kept in the header) and the float
// buffers (kept as raw blobs), as a Boost text archive.
std::string encode_checkpoint_metadata(const TrainingState& state);

// Fills those fields of `state` from bytes that already passed the checksum. Any Boost or
// stream failure becomes an IoError naming the file `name`.
void decode_checkpoint_metadata(std::string_view bytes, TrainingState& state, const std::string& name);

}  // namespace convoy
