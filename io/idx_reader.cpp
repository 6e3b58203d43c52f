#include "io/idx_reader.hpp"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "core/error.hpp"

namespace convoy {

namespace {

struct GzCloser {
  void operator()(gzFile f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

// Reads up to `size` bytes; returns how many were read (fewer only at the end of the data).
// zlib's gzread reads gzip streams (recognised by the magic 1f 8b) and passes any other file
// through unchanged, so raw and compressed IDX files share one path.
size_t read_some(gzFile file, uint8_t* out, size_t size, const std::string& path) {
  size_t total = 0;
  while (total < size) {
    const auto want = static_cast<unsigned>(std::min<size_t>(size - total, 1u << 30));
    const int got = gzread(file, out + total, want);
    if (got < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      throw IoError(detail::concat("IDX file '", path, "': cannot read: ", message));
    }
    if (got == 0) break;
    total += static_cast<size_t>(got);
  }
  return total;
}

// The zlib error after a short read ("unexpected end of file" for a truncated gzip stream).
std::string stream_note(gzFile file) {
  int code = Z_OK;
  const char* message = gzerror(file, &code);
  if (code == Z_OK || message == nullptr || *message == '\0') return "";
  return detail::concat(" (", message, ")");
}

std::string dims_str(const std::vector<int64_t>& dims) {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "x" : "") + std::to_string(dims[i]);
  return s;
}

const char* data_kind(size_t rank) { return rank == 3 ? "image data" : rank == 1 ? "label data" : "data"; }

IdxArray read_idx_ranked(const std::string& path, int expected_rank, const char* what) {
  IdxArray array = read_idx(path);
  CONVOY_CHECK(static_cast<int>(array.dims.size()) == expected_rank, IoError, "IDX file '", path, "': expected ",
               what, " of rank ", expected_rank, ", found rank ", array.dims.size(), " (", dims_str(array.dims), ")");
  return array;
}

}  // namespace

IdxArray read_idx(const std::string& path) {
  std::error_code ec;
  CONVOY_CHECK(std::filesystem::is_regular_file(path, ec), IoError, "IDX file '", path,
               "': file not found (or not a regular file)");
  GzFile file(gzopen(path.c_str(), "rb"));
  CONVOY_CHECK(file != nullptr, IoError, "IDX file '", path, "': cannot open: ", std::strerror(errno));
  gzbuffer(file.get(), 256 << 10);

  std::array<uint8_t, 4> magic{};
  const size_t got_magic = read_some(file.get(), magic.data(), magic.size(), path);
  CONVOY_CHECK(got_magic == 4, IoError, "IDX file '", path, "': expected a 4-byte magic number, found ", got_magic,
               " bytes", stream_note(file.get()));
  CONVOY_CHECK(magic[0] == 0 && magic[1] == 0, IoError, "IDX file '", path,
               "': expected the magic number to start with 00 00, found ", int{magic[0]}, " ", int{magic[1]},
               " (not an IDX file)");
  CONVOY_CHECK(magic[2] == 0x08, IoError, "IDX file '", path,
               "': expected element type 0x08 (unsigned byte), found type code ", int{magic[2]});
  const int rank = magic[3];
  CONVOY_CHECK(rank >= 1 && rank <= 4, IoError, "IDX file '", path, "': expected rank 1 to 4, found ", rank);

  std::array<uint8_t, 16> header{};
  const size_t header_bytes = 4 * static_cast<size_t>(rank);
  const size_t got_header = read_some(file.get(), header.data(), header_bytes, path);
  CONVOY_CHECK(got_header == header_bytes, IoError, "IDX file '", path, "': expected ", header_bytes,
               " bytes of dimensions for rank ", rank, ", found ", got_header, stream_note(file.get()));

  IdxArray array;
  uint64_t expected = 1;
  for (int i = 0; i < rank; ++i) {
    // Dimensions are big-endian 32-bit unsigned integers.
    const uint8_t* b = header.data() + 4 * i;
    const int64_t dim = (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | int64_t{b[3]};
    array.dims.push_back(dim);
    expected *= static_cast<uint64_t>(dim);
  }
  // Refuse absurd sizes from a corrupt header before allocating them.
  constexpr uint64_t kMaxBytes = uint64_t{1} << 36;
  CONVOY_CHECK(expected <= kMaxBytes, IoError, "IDX file '", path, "': dimensions ", dims_str(array.dims),
               " give ", expected, " bytes, more than the supported ", kMaxBytes);

  array.data.resize(expected);
  const size_t got = read_some(file.get(), array.data.data(), expected, path);
  size_t extra = 0;
  if (got == expected) {
    std::array<uint8_t, 4096> tail{};
    while (size_t n = read_some(file.get(), tail.data(), tail.size(), path)) extra += n;
  }
  CONVOY_CHECK(got == expected && extra == 0, IoError, "IDX file '", path, "': expected ", expected, " bytes of ",
               data_kind(array.dims.size()), " for ", dims_str(array.dims), ", found ", got + extra,
               stream_note(file.get()));
  return array;
}

IdxArray read_idx_images(const std::string& path) { return read_idx_ranked(path, 3, "images [N, H, W]"); }
IdxArray read_idx_labels(const std::string& path) { return read_idx_ranked(path, 1, "labels [N]"); }

}  // namespace convoy
