// libFuzzer target: the checkpoint reader on arbitrary bytes must verify or throw IoError.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.hpp"
#include "io/checkpoint.hpp"
#include "io/checkpoint_header.hpp"

namespace {

// Writes v little-endian at offset.
void put_u64(std::vector<std::byte>& bytes, size_t offset, uint64_t v) {
  for (int i = 0; i < 8; ++i) bytes[offset + i] = static_cast<std::byte>(v >> (8 * i));
}

}  // namespace

// The first input byte chooses whether the checksums are recomputed first: random bytes almost
// never carry valid XXH64 sums, so without that the fuzzer would only ever meet the checksum
// check and never the size caps, the blob framing or the Boost metadata behind it.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool fix_checksums = (data[0] & 1) != 0;
  std::vector<std::byte> bytes(reinterpret_cast<const std::byte*>(data + 1),
                               reinterpret_cast<const std::byte*>(data + size));
  if (fix_checksums && bytes.size() >= convoy::kCheckpointHeaderSize) {
    put_u64(bytes, 40, convoy::checkpoint_hash(std::span(bytes).subspan(convoy::kCheckpointHeaderSize)));
    put_u64(bytes, 56, convoy::checkpoint_hash(std::span(bytes).first(56)));
  }
  try {
    const convoy::TrainingState state = convoy::decode_checkpoint(bytes, "fuzz-input");
    // What verified must encode again and read back to the same sizes.
    const auto again = convoy::decode_checkpoint(convoy::encode_checkpoint(state), "fuzz-reencoded");
    if (again.parameters.size() != state.parameters.size() ||
        again.optimizer_buffers.size() != state.optimizer_buffers.size() ||
        again.metrics_history != state.metrics_history)
      __builtin_trap();
  } catch (const convoy::IoError&) {
    // Rejected with a message: the expected outcome for nearly every input.
  }
  // Any other exception escapes and libFuzzer reports it as a crash.
  return 0;
}
