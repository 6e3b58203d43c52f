#include "io/checkpoint.hpp"

#include <sys/stat.h>
#include <xxhash.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.hpp"
#include "core/hex.hpp"
#include "io/atomic_file.hpp"
#include "io/checkpoint_metadata.hpp"

namespace convoy {
namespace {

// The blobs are the in-memory float bytes; the format says little-endian.
static_assert(std::endian::native == std::endian::little, "checkpoint blobs assume a little-endian host");

constexpr const char* kParametersBlob = "parameters";
constexpr const char* kBuffersBlob = "buffers";  // from format version 2

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span(v));
}

// The small framing buffers of the blob section, kept alive while pieces point into them.
struct EncodedCheckpoint {
  std::array<std::byte, kCheckpointHeaderSize> header{};
  std::string metadata;
  std::vector<std::vector<std::byte>> frames;      // blob count, then one per blob
  std::vector<std::span<const std::byte>> floats;   // one per blob
  uint64_t blob_bytes = 0;

  std::vector<std::span<const std::byte>> pieces() const {
    std::vector<std::span<const std::byte>> out = {std::span(header), std::as_bytes(std::span(metadata)),
                                                   std::span(frames[0])};
    for (size_t i = 0; i < floats.size(); ++i) {
      out.push_back(std::span(frames[i + 1]));
      out.push_back(floats[i]);
    }
    return out;
  }
};

void append_le(std::vector<std::byte>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

void add_blob(EncodedCheckpoint& e, const std::string& name, const std::vector<float>& values) {
  CONVOY_CHECK(name.size() <= UINT32_MAX, ConfigError, "checkpoint blob name of ", name.size(), " bytes is too long");
  std::vector<std::byte> frame;
  append_le(frame, name.size(), 4);
  for (char c : name) frame.push_back(static_cast<std::byte>(c));
  append_le(frame, values.size(), 8);
  e.blob_bytes += frame.size() + values.size() * sizeof(float);
  e.frames.push_back(std::move(frame));
  e.floats.push_back(bytes_of(values));
}

std::unique_ptr<EncodedCheckpoint> encode(const TrainingState& state) {
  auto e = std::make_unique<EncodedCheckpoint>();
  e->metadata = encode_checkpoint_metadata(state);
  const size_t blobs = 2 + state.optimizer_buffers.size();
  CONVOY_CHECK(blobs <= UINT32_MAX, ConfigError, "too many optimizer buffers to checkpoint: ", blobs);
  e->frames.emplace_back();
  append_le(e->frames[0], blobs, 4);
  e->blob_bytes = e->frames[0].size();
  add_blob(*e, kParametersBlob, state.parameters);
  add_blob(*e, kBuffersBlob, state.buffers);
  for (const auto& [name, values] : state.optimizer_buffers) add_blob(*e, name, values);

  CheckpointHeader header;
  header.model_fingerprint = state.model_fingerprint;
  header.metadata_bytes = e->metadata.size();
  header.blob_bytes = e->blob_bytes;
  XXH64_state_t* hash = XXH64_createState();
  CONVOY_ASSERT(hash != nullptr);
  XXH64_reset(hash, 0);
  const auto pieces = e->pieces();
  for (size_t i = 1; i < pieces.size(); ++i) XXH64_update(hash, pieces[i].data(), pieces[i].size());
  header.payload_hash = XXH64_digest(hash);
  XXH64_freeState(hash);
  e->header = encode_checkpoint_header(header);
  return e;
}

// Where the reader takes its bytes from: a file or memory. read() delivers exactly n bytes or
// throws; the header check already tied every size to the real size, so a short read means the
// file changed while it was read.
class Source {
 public:
  virtual ~Source() = default;
  virtual uint64_t size() const = 0;
  virtual size_t read_some(void* out, size_t n) = 0;  // up to n bytes; 0 at the end
  const std::string& name() const { return name_; }

  void read(void* out, size_t n) {
    auto* p = static_cast<std::byte*>(out);
    while (n > 0) {
      const size_t got = read_some(p, n);
      CONVOY_CHECK(got > 0, IoError, "checkpoint '", name_, "': truncated while reading: ", n,
                   " more bytes expected, the file ended (was it modified during the read?)");
      p += got;
      n -= got;
    }
  }

 protected:
  explicit Source(std::string name) : name_(std::move(name)) {}

 private:
  std::string name_;
};

class MemorySource final : public Source {
 public:
  MemorySource(std::span<const std::byte> bytes, std::string name) : Source(std::move(name)), bytes_(bytes) {}
  uint64_t size() const override { return bytes_.size(); }
  size_t read_some(void* out, size_t n) override {
    n = std::min(n, bytes_.size() - offset_);
    if (n > 0) std::memcpy(out, bytes_.data() + offset_, n);
    offset_ += n;
    return n;
  }

 private:
  std::span<const std::byte> bytes_;
  size_t offset_ = 0;
};

class FileSource final : public Source {
 public:
  explicit FileSource(const std::string& path) : Source(path), file_(std::fopen(path.c_str(), "rb"), &std::fclose) {
    CONVOY_CHECK(file_ != nullptr, IoError, "cannot open checkpoint '", path, "': ", std::strerror(errno));
    struct stat st {};
    CONVOY_CHECK(::fstat(::fileno(file_.get()), &st) == 0, IoError, "cannot stat checkpoint '", path,
                 "': ", std::strerror(errno));
    CONVOY_CHECK(S_ISREG(st.st_mode), IoError, "checkpoint '", path, "': expected a regular file, found ",
                 S_ISDIR(st.st_mode) ? "a directory" : "another kind of file");
    size_ = static_cast<uint64_t>(st.st_size);
  }

  uint64_t size() const override { return size_; }
  size_t read_some(void* out, size_t n) override {
    const size_t got = std::fread(out, 1, n, file_.get());
    CONVOY_CHECK(got > 0 || !std::ferror(file_.get()), IoError, "cannot read checkpoint '", name(), "': ",
                 std::strerror(errno));
    return got;
  }

 private:
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file_;
  uint64_t size_ = 0;
};

CheckpointHeader read_header(Source& source) {
  std::array<std::byte, kCheckpointHeaderSize> bytes{};
  const size_t n = static_cast<size_t>(std::min<uint64_t>(source.size(), kCheckpointHeaderSize));
  source.read(bytes.data(), n);
  return decode_checkpoint_header(std::span(bytes).first(n), source.size(), source.name());
}

// Reads payload bytes, hashing them and counting down the bytes the section has left.
class PayloadReader {
 public:
  explicit PayloadReader(Source& source) : source_(source), hash_(XXH64_createState()) {
    CONVOY_ASSERT(hash_ != nullptr);
    XXH64_reset(hash_, 0);
  }
  ~PayloadReader() { XXH64_freeState(hash_); }
  PayloadReader(const PayloadReader&) = delete;
  PayloadReader& operator=(const PayloadReader&) = delete;

  // Bytes a section may still give; every count read from the file is checked against it.
  void begin_section(uint64_t bytes, const char* section) {
    left_ = bytes;
    section_ = section;
  }
  uint64_t left() const { return left_; }

  void read(void* out, uint64_t n, const char* what) {
    CONVOY_CHECK(n <= left_, IoError, "checkpoint '", source_.name(), "': ", what, " needs ", n, " bytes but the ",
                 section_, " section has only ", left_, " left (corrupted file)");
    source_.read(out, static_cast<size_t>(n));
    XXH64_update(hash_, out, static_cast<size_t>(n));
    left_ -= n;
  }
  uint64_t read_le(int bytes, const char* what) {
    std::array<unsigned char, 8> b{};
    read(b.data(), bytes, what);
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(b[i]) << (8 * i);
    return v;
  }
  // Reads and hashes what the section has left, in chunks, keeping nothing.
  void drain() {
    std::array<std::byte, 64 * 1024> chunk;
    while (left_ > 0) read(chunk.data(), std::min<uint64_t>(chunk.size(), left_), "the rest of the section");
  }
  uint64_t digest() const { return XXH64_digest(hash_); }

 private:
  Source& source_;
  XXH64_state_t* hash_;
  uint64_t left_ = 0;
  const char* section_ = "";
};

[[noreturn]] void throw_checksum_mismatch(const std::string& name, uint64_t stored, uint64_t computed) {
  throw IoError(detail::concat("checkpoint '", name, "': payload checksum mismatch (stored ", hex(stored),
                               ", computed ", hex(computed), "): the file is corrupted"));
}

// The blob section (Note [Checkpoint layout]); every count is capped by the bytes left.
void read_blobs(PayloadReader& payload, uint32_t format_version, TrainingState& state, const std::string& name) {
  const uint64_t fixed = format_version >= 2 ? 2 : 1;  // parameters (and buffers) before the optimizer's
  const uint64_t blobs = payload.read_le(4, "the blob count");
  // Each blob takes at least 12 framing bytes, so a count the section cannot hold is rejected.
  CONVOY_CHECK(blobs >= fixed && blobs <= payload.left() / 12, IoError, "checkpoint '", name,
               "': expected ", fixed, " to ", payload.left() / 12, " blobs in ", payload.left(), " bytes, found a count of ",
               blobs);
  for (uint64_t b = 0; b < blobs; ++b) {
    const uint64_t name_bytes = payload.read_le(4, "a blob name length");
    CONVOY_CHECK(name_bytes <= payload.left(), IoError, "checkpoint '", name, "': blob ", b, " claims a name of ",
                 name_bytes, " bytes but only ", payload.left(), " blob bytes are left");
    std::string blob_name(name_bytes, '\0');
    payload.read(blob_name.data(), name_bytes, "a blob name");
    const uint64_t count = payload.read_le(8, "a blob length");
    CONVOY_CHECK(count <= payload.left() / sizeof(float), IoError, "checkpoint '", name, "': blob '", blob_name,
                 "' claims ", count, " floats but only ", payload.left(), " blob bytes are left");
    std::vector<float> values(count);
    payload.read(values.data(), count * sizeof(float), "blob data");
    if (b == 0) {
      CONVOY_CHECK(blob_name == kParametersBlob, IoError, "checkpoint '", name, "': expected the first blob to be '",
                   kParametersBlob, "', found '", blob_name, "'");
      state.parameters = std::move(values);
    } else if (b == 1 && fixed == 2) {
      CONVOY_CHECK(blob_name == kBuffersBlob, IoError, "checkpoint '", name, "': expected the second blob to be '",
                   kBuffersBlob, "', found '", blob_name, "'");
      state.buffers = std::move(values);
    } else {
      state.optimizer_buffers.emplace_back(std::move(blob_name), std::move(values));
    }
  }
  CONVOY_CHECK(payload.left() == 0, IoError, "checkpoint '", name, "': ", payload.left(),
               " unexpected bytes after the last blob");
}

TrainingState decode(Source& source, const uint64_t* expected_fingerprint) {
  const std::string& name = source.name();
  const CheckpointHeader header = read_header(source);
  if (expected_fingerprint != nullptr) {
    CONVOY_CHECK(header.model_fingerprint == *expected_fingerprint, IoError, "checkpoint '", name,
                 "' belongs to another model: expected model fingerprint ", hex(*expected_fingerprint), ", found ",
                 hex(header.model_fingerprint));
  }

  PayloadReader payload(source);
  payload.begin_section(header.metadata_bytes, "metadata");
  std::string metadata(header.metadata_bytes, '\0');  // bounded by the file size (header check)
  payload.read(metadata.data(), metadata.size(), "the metadata");

  payload.begin_section(header.blob_bytes, "blob");
  TrainingState state;
  try {
    read_blobs(payload, header.format_version, state, name);
  } catch (const IoError&) {
    // Damaged framing is usually damage the checksum also sees; say so, it is the clearer story.
    payload.drain();
    if (payload.digest() != header.payload_hash) throw_checksum_mismatch(name, header.payload_hash, payload.digest());
    throw;
  }
  if (payload.digest() != header.payload_hash) throw_checksum_mismatch(name, header.payload_hash, payload.digest());

  // Only now, with every byte verified, does Boost see the metadata.
  decode_checkpoint_metadata(metadata, state, name);
  state.model_fingerprint = header.model_fingerprint;
  return state;
}

}  // namespace

void write_checkpoint(const std::string& path, const TrainingState& state) {
  const auto encoded = encode(state);
  write_file_atomically(path, encoded->pieces());
}

std::vector<std::byte> encode_checkpoint(const TrainingState& state) {
  const auto encoded = encode(state);
  std::vector<std::byte> out;
  for (const auto& piece : encoded->pieces()) out.insert(out.end(), piece.begin(), piece.end());
  return out;
}

TrainingState decode_checkpoint(std::span<const std::byte> bytes, const std::string& name) {
  MemorySource source(bytes, name);
  return decode(source, nullptr);
}

TrainingState read_checkpoint(const std::string& path) {
  FileSource source(path);
  return decode(source, nullptr);
}

TrainingState read_checkpoint(const std::string& path, uint64_t expected_fingerprint) {
  FileSource source(path);
  return decode(source, &expected_fingerprint);
}

CheckpointHeader read_checkpoint_header(const std::string& path) {
  FileSource source(path);
  return read_header(source);
}

void verify_checkpoint(const std::string& path) {
  FileSource source(path);
  const CheckpointHeader header = read_header(source);
  PayloadReader payload(source);
  payload.begin_section(header.metadata_bytes + header.blob_bytes, "payload");
  payload.drain();
  if (payload.digest() != header.payload_hash) throw_checksum_mismatch(path, header.payload_hash, payload.digest());
}

}  // namespace convoy
