// Checkpoint files: writing a TrainingState atomically and reading it back only if it verifies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/checkpoint_header.hpp"
#include "io/training_state.hpp"

namespace convoy {

// Writes `state` to `path` (layout: Note [Checkpoint layout]) through a temporary file in the
// same folder, fsynced and renamed over `path`; a previous file at `path` stays intact until
// the new one is complete. IoError naming the path and the errno text on failure. Only one
// process should write a given path (in a multi-rank run, rank 0).
void write_checkpoint(const std::string& path, const TrainingState& state);

// Reads and fully verifies a checkpoint: magic, version, sizes, header and payload checksums,
// all before the metadata is decoded. IoError naming the file, what was expected and found.
TrainingState read_checkpoint(const std::string& path);

// As above, and rejects a checkpoint written for another model (checked from the header,
// before the payload is read).
TrainingState read_checkpoint(const std::string& path, uint64_t expected_fingerprint);

// Reads and verifies only the header (and that the file size matches it): cheap, for
// inspect and for choosing what to resume from. Does not hash the payload.
CheckpointHeader read_checkpoint_header(const std::string& path);

// Verifies header and payload checksum by streaming the file, without decoding or keeping it.
void verify_checkpoint(const std::string& path);

// The exact bytes write_checkpoint puts in a file, and the reader over bytes in memory (used by
// the fuzzer and by tests). `name` stands for the file in error messages.
std::vector<std::byte> encode_checkpoint(const TrainingState& state);
TrainingState decode_checkpoint(std::span<const std::byte> bytes, const std::string& name);

// A `key: value` summary for `convoy inspect`: format version, cursor, world size, model name
// and parameter count, optimizer settings, and XXH64 of the parameter and optimizer buffers.
// Reads the header of `path` for the format version.
std::string describe_checkpoint(const TrainingState& state, const std::string& path);

}  // namespace convoy
