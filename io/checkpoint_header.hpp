// The fixed, hand-written little-endian header that starts every checkpoint file.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace convoy {

// Note [Checkpoint layout]
// A checkpoint file is three sections, back to back:
//   header    kCheckpointHeaderSize bytes, little-endian, written field by field (below)
//   metadata  metadata_bytes of a Boost.Serialization text archive (scalars, JSON texts, metrics)
//   blobs     blob_bytes in our own framing: u32 blob count, then per blob
//             u32 name length, name bytes, u64 float count, count little-endian float32s;
//             the first blob is "parameters"; from version 2 the second is "buffers" (the
//             model's buffer store, possibly empty); the rest are the optimizer buffers in order.
// Header fields, at byte offsets:
//    0  magic "CONVOYCK"            8 bytes
//    8  format version              u32
//   12  header size                 u32 (64 for version 1)
//   16  model fingerprint           u64
//   24  metadata byte count         u64
//   32  blob byte count             u64
//   40  XXH64 of metadata + blobs   u64 (seed 0)
//   48  reserved, zero              u64
//   56  XXH64 of bytes [0, 56)      u64 (seed 0)
// The reader checks magic, version, sizes against the file size and both hashes before any
// byte reaches Boost, and never allocates more than the file holds.
// Versions: 1 had no buffers blob and metadata version 1; 2 added the buffers blob and, in
// metadata version 2, the dataset fingerprint and the preprocessing. The reader takes both; a
// version-1 file reads as a state with no buffers, fingerprint 0 and no preprocessing.

inline constexpr std::array<char, 8> kCheckpointMagic = {'C', 'O', 'N', 'V', 'O', 'Y', 'C', 'K'};
inline constexpr uint32_t kCheckpointFormatVersion = 2;  // the newest version this build writes and reads
inline constexpr uint32_t kCheckpointHeaderSize = 64;

struct CheckpointHeader {
  uint32_t format_version = kCheckpointFormatVersion;
  uint32_t header_size = kCheckpointHeaderSize;
  uint64_t model_fingerprint = 0;
  uint64_t metadata_bytes = 0;
  uint64_t blob_bytes = 0;
  uint64_t payload_hash = 0;  // XXH64 of everything after the header
  uint64_t header_hash = 0;   // XXH64 of the header's first 56 bytes; filled by encode
};

// XXH64 with seed 0, the hash used for every checksum in the format.
uint64_t checkpoint_hash(std::span<const std::byte> bytes);

// The header's bytes; computes and stores header_hash from the other fields.
std::array<std::byte, kCheckpointHeaderSize> encode_checkpoint_header(CheckpointHeader& header);

// Parses and verifies a header: magic, version, header size, header hash, and that the sections
// it announces fill exactly file_bytes. `name` (the file) goes into every IoError.
CheckpointHeader decode_checkpoint_header(std::span<const std::byte> bytes, uint64_t file_bytes,
                                          const std::string& name);

}  // namespace convoy
