#include "io/checkpoint_header.hpp"

#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/hex.hpp"

namespace convoy {
namespace {

constexpr size_t kHeaderHashOffset = 56;

void put_u32(std::byte* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<std::byte>(v >> (8 * i));
}
void put_u64(std::byte* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>(v >> (8 * i));
}
uint32_t get_u32(const std::byte* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(in[i]) << (8 * i);
  return v;
}
uint64_t get_u64(const std::byte* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(in[i]) << (8 * i);
  return v;
}

}  // namespace

uint64_t checkpoint_hash(std::span<const std::byte> bytes) { return XXH64(bytes.data(), bytes.size(), 0); }

std::array<std::byte, kCheckpointHeaderSize> encode_checkpoint_header(CheckpointHeader& header) {
  std::array<std::byte, kCheckpointHeaderSize> out{};
  std::memcpy(out.data(), kCheckpointMagic.data(), kCheckpointMagic.size());
  put_u32(out.data() + 8, header.format_version);
  put_u32(out.data() + 12, header.header_size);
  put_u64(out.data() + 16, header.model_fingerprint);
  put_u64(out.data() + 24, header.metadata_bytes);
  put_u64(out.data() + 32, header.blob_bytes);
  put_u64(out.data() + 40, header.payload_hash);
  put_u64(out.data() + 48, 0);
  header.header_hash = checkpoint_hash(std::span(out).first(kHeaderHashOffset));
  put_u64(out.data() + kHeaderHashOffset, header.header_hash);
  return out;
}

CheckpointHeader decode_checkpoint_header(std::span<const std::byte> bytes, uint64_t file_bytes,
                                          const std::string& name) {
  CONVOY_CHECK(file_bytes > 0, IoError, "checkpoint '", name, "': expected a ", kCheckpointHeaderSize,
               "-byte header, found an empty file");
  const size_t magic_seen = std::min(bytes.size(), kCheckpointMagic.size());
  CONVOY_CHECK(std::memcmp(bytes.data(), kCheckpointMagic.data(), magic_seen) == 0, IoError, "checkpoint '", name,
               "': not a Convoy checkpoint (expected magic \"CONVOYCK\" at the start, found other bytes)");
  CONVOY_CHECK(bytes.size() >= kCheckpointHeaderSize, IoError, "checkpoint '", name, "': truncated: expected a ",
               kCheckpointHeaderSize, "-byte header, found only ", bytes.size(), " bytes");

  CheckpointHeader h;
  h.format_version = get_u32(bytes.data() + 8);
  h.header_size = get_u32(bytes.data() + 12);
  h.model_fingerprint = get_u64(bytes.data() + 16);
  h.metadata_bytes = get_u64(bytes.data() + 24);
  h.blob_bytes = get_u64(bytes.data() + 32);
  h.payload_hash = get_u64(bytes.data() + 40);
  h.header_hash = get_u64(bytes.data() + kHeaderHashOffset);

  // The version comes before the header hash: a newer format may lay its header out differently,
  // and "upgrade Convoy" is the message that helps.
  CONVOY_CHECK(h.format_version <= kCheckpointFormatVersion, IoError, "checkpoint '", name,
               "': written by a newer Convoy, format version ", h.format_version, ", this reads up to ",
               kCheckpointFormatVersion);
  CONVOY_CHECK(h.format_version >= 1, IoError, "checkpoint '", name, "': expected format version 1 to ",
               kCheckpointFormatVersion, ", found 0");
  const uint64_t computed = checkpoint_hash(bytes.first(kHeaderHashOffset));
  CONVOY_CHECK(computed == h.header_hash, IoError, "checkpoint '", name, "': header checksum mismatch (stored ",
               hex(h.header_hash), ", computed ", hex(computed), "): the header is corrupted");
  CONVOY_CHECK(h.header_size == kCheckpointHeaderSize, IoError, "checkpoint '", name, "': expected header size ",
               kCheckpointHeaderSize, ", found ", h.header_size);
  CONVOY_CHECK(get_u64(bytes.data() + 48) == 0, IoError, "checkpoint '", name,
               "': expected the reserved header field to be zero, found ", get_u64(bytes.data() + 48));

  // Each size is compared with what the file holds before anything is allocated from it, and in
  // an order that cannot overflow.
  const uint64_t after_header = file_bytes >= kCheckpointHeaderSize ? file_bytes - kCheckpointHeaderSize : 0;
  CONVOY_CHECK(h.metadata_bytes <= after_header, IoError, "checkpoint '", name, "': header claims ",
               h.metadata_bytes, " metadata bytes but only ", after_header,
               " bytes follow the header (truncated or corrupted file)");
  CONVOY_CHECK(h.blob_bytes <= after_header - h.metadata_bytes, IoError, "checkpoint '", name, "': header claims ",
               h.blob_bytes, " blob bytes but only ", after_header - h.metadata_bytes,
               " bytes follow the metadata (truncated or corrupted file)");
  CONVOY_CHECK(h.metadata_bytes + h.blob_bytes == after_header, IoError, "checkpoint '", name, "': expected ",
               kCheckpointHeaderSize + h.metadata_bytes + h.blob_bytes, " bytes, found ", file_bytes,
               " (trailing bytes after the blobs)");
  return h;
}

}  // namespace convoy
