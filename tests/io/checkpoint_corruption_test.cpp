// Damaged or foreign checkpoint files: each is rejected with an IoError that says what is wrong.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "io/checkpoint.hpp"
#include "tests/io/checkpoint_test_support.hpp"

namespace convoy {
namespace {

using test::TempDir;

class CheckpointCorruption : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("step-1234.ckpt");
    write_checkpoint(path_, test::populated_state());
    bytes_ = test::read_bytes(path_);
    ASSERT_GT(bytes_.size(), 1000u);
  }

  // Writes `bytes` to the checkpoint file and expects read_checkpoint to throw an IoError whose
  // message names the file and contains `expected`.
  void expect_rejected(const std::vector<std::byte>& bytes, const std::string& expected) {
    test::write_bytes(path_, bytes);
    try {
      read_checkpoint(path_);
      ADD_FAILURE() << "read succeeded, expected an error containing '" << expected << "'";
    } catch (const IoError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(expected), std::string::npos) << message;
      EXPECT_NE(message.find(path_), std::string::npos) << message;
    }
    // The memory reader makes the same decision.
    EXPECT_THROW(decode_checkpoint(bytes, path_), IoError);
  }

  TempDir dir_;
  std::string path_;
  std::vector<std::byte> bytes_;
};

TEST_F(CheckpointCorruption, TruncatedAtSeveralPointsIsRejected) {
  const size_t metadata_end = test::blob_offset(bytes_);
  for (size_t keep : {size_t{3}, size_t{8}, size_t{40}, size_t{63}, size_t{64}, size_t{65}, metadata_end - 1,
                      metadata_end, metadata_end + 2, bytes_.size() / 2 + 500, bytes_.size() - 1}) {
    SCOPED_TRACE("kept " + std::to_string(keep) + " of " + std::to_string(bytes_.size()) + " bytes");
    expect_rejected(std::vector<std::byte>(bytes_.begin(), bytes_.begin() + keep), "truncated");
  }
}

TEST_F(CheckpointCorruption, EmptyFileIsRejected) { expect_rejected({}, "empty file"); }

TEST_F(CheckpointCorruption, WrongMagicIsRejected) {
  auto bytes = bytes_;
  bytes[3] = std::byte{'X'};
  expect_rejected(bytes, "not a Convoy checkpoint");
  expect_rejected(std::vector<std::byte>(200, std::byte{0x41}), "not a Convoy checkpoint");
}

TEST_F(CheckpointCorruption, FlippedHeaderByteIsRejected) {
  for (size_t offset : {test::kFingerprintOffset + 2, test::kMetadataBytesOffset, test::kPayloadHashOffset + 7,
                        size_t{50}, test::kHeaderHashOffset + 1}) {
    SCOPED_TRACE("offset " + std::to_string(offset));
    auto bytes = bytes_;
    bytes[offset] ^= std::byte{0x10};
    expect_rejected(bytes, "header checksum mismatch");
  }
}

TEST_F(CheckpointCorruption, FlippedMetadataByteIsRejected) {
  auto bytes = bytes_;
  bytes[kCheckpointHeaderSize + 40] ^= std::byte{0x01};
  expect_rejected(bytes, "payload checksum mismatch");
}

TEST_F(CheckpointCorruption, FlippedBlobByteIsRejected) {
  auto first = bytes_;  // inside the parameters
  first[test::blob_offset(bytes_) + 4 + 4 + 10 + 8 + 13] ^= std::byte{0x80};
  expect_rejected(first, "payload checksum mismatch");
  auto last = bytes_;  // the last float of the last non-empty buffer
  last[last.size() - (4 + 12 + 8) - 1] ^= std::byte{0x01};
  expect_rejected(last, "payload checksum mismatch");
}

TEST_F(CheckpointCorruption, NewerFormatVersionIsRejectedByName) {
  auto bytes = bytes_;
  test::put_le(bytes, test::kVersionOffset, kCheckpointFormatVersion + 1, 4);
  test::fix_checksums(bytes, false);
  expect_rejected(bytes, "written by a newer Convoy, format version 3, this reads up to 2");
}

TEST_F(CheckpointCorruption, VersionZeroIsRejected) {
  auto bytes = bytes_;
  test::put_le(bytes, test::kVersionOffset, 0, 4);
  test::fix_checksums(bytes, false);
  expect_rejected(bytes, "found 0");
}

TEST_F(CheckpointCorruption, OtherModelsFingerprintIsRejected) {
  const uint64_t other = test::populated_state().model_fingerprint + 1;
  try {
    read_checkpoint(path_, other);
    ADD_FAILURE() << "read succeeded";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("belongs to another model"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointCorruption, TerabyteSizeFieldsAreRejectedBeforeAllocating) {
  constexpr uint64_t kFourTerabytes = uint64_t{1} << 42;
  for (size_t field : {test::kMetadataBytesOffset, test::kBlobBytesOffset}) {
    SCOPED_TRACE("field at " + std::to_string(field));
    auto bytes = bytes_;
    test::put_le(bytes, field, kFourTerabytes, 8);
    test::fix_checksums(bytes, false);
    expect_rejected(bytes, "header claims 4398046511104");
  }
  auto huge = bytes_;
  test::put_le(huge, test::kMetadataBytesOffset, ~uint64_t{0}, 8);
  test::fix_checksums(huge, false);
  expect_rejected(huge, "header claims 18446744073709551615");
}

TEST_F(CheckpointCorruption, SizesThatDoNotAddUpAreRejected) {
  auto bytes = bytes_;  // metadata one byte shorter: the sections no longer fill the file
  test::put_le(bytes, test::kMetadataBytesOffset, test::get_le(bytes, test::kMetadataBytesOffset, 8) - 1, 8);
  test::fix_checksums(bytes, false);
  expect_rejected(bytes, "trailing bytes");
  auto header_size = bytes_;
  test::put_le(header_size, test::kHeaderSizeOffset, 4096, 4);
  test::fix_checksums(header_size, false);
  expect_rejected(header_size, "expected header size 64, found 4096");
}

// Counts inside the blob section that claim more than the section holds, with both checksums
// recomputed so the caps, not the hashes, must catch them.
TEST_F(CheckpointCorruption, HugeBlobCountsAreRejectedEvenWithValidChecksums) {
  const size_t blobs = test::blob_offset(bytes_);
  auto count = bytes_;
  test::put_le(count, blobs, 0xffffffffu, 4);
  test::fix_checksums(count, true);
  expect_rejected(count, "found a count of 4294967295");

  auto name = bytes_;
  test::put_le(name, blobs + 4, 0xfffffff0u, 4);
  test::fix_checksums(name, true);
  expect_rejected(name, "claims a name of 4294967280 bytes");

  auto floats = bytes_;
  test::put_le(floats, blobs + 4 + 4 + 10, uint64_t{1} << 40, 8);
  test::fix_checksums(floats, true);
  expect_rejected(floats, "claims 1099511627776 floats");

  auto first = bytes_;  // the first blob must be the parameters
  first[blobs + 4 + 4] = std::byte{'P'};
  test::fix_checksums(first, true);
  expect_rejected(first, "expected the first blob to be 'parameters'");
}

TEST_F(CheckpointCorruption, GarbageMetadataWithValidChecksumsBecomesIoError) {
  auto bytes = bytes_;
  for (size_t i = kCheckpointHeaderSize; i < test::blob_offset(bytes); ++i) bytes[i] = std::byte{'#'};
  test::fix_checksums(bytes, true);
  expect_rejected(bytes, "could not be decoded");
}

// Replaces `from` by `to` in the metadata text and rebuilds sizes and checksums around it, so
// only the metadata decoder can object.
std::vector<std::byte> with_metadata_patch(const std::vector<std::byte>& bytes, const std::string& from,
                                           const std::string& to) {
  const size_t begin = kCheckpointHeaderSize, end = test::blob_offset(bytes);
  std::string metadata(reinterpret_cast<const char*>(bytes.data()) + begin, end - begin);
  const size_t at = metadata.find(from);
  EXPECT_NE(at, std::string::npos) << "metadata lacks '" << from << "': " << metadata;
  if (at == std::string::npos) return bytes;
  metadata.replace(at, from.size(), to);
  std::vector<std::byte> out(bytes.begin(), bytes.begin() + begin);
  for (char c : metadata) out.push_back(static_cast<std::byte>(c));
  out.insert(out.end(), bytes.begin() + end, bytes.end());
  test::put_le(out, test::kMetadataBytesOffset, metadata.size(), 8);
  test::fix_checksums(out, true);
  return out;
}

// Boost sizes a string or vector from the count it reads; counts beyond the metadata's size are
// refused before that allocation (a crafted file can carry valid checksums).
TEST_F(CheckpointCorruption, HugeCountsInsideTheMetadataAreRefused) {
  const TrainingState state = test::populated_state();
  const std::string spec = std::to_string(state.model_spec_json.size()) + " " + state.model_spec_json;
  expect_rejected(with_metadata_patch(bytes_, spec, "999999999999 " + state.model_spec_json),
                  "a string length of 999999999999 exceeds");
  // The metrics history: 4 lines, the first 26 bytes long.
  expect_rejected(with_metadata_patch(bytes_, " 4 0 26 {", " 100000000 0 26 {"),
                  "a collection count of 100000000 exceeds");
  SCOPED_TRACE("a string longer than the rest of the metadata");
  // Within the bound, but longer than what follows it.
  const uint64_t metadata_bytes = test::get_le(bytes_, test::kMetadataBytesOffset, 8);
  expect_rejected(with_metadata_patch(bytes_, spec, std::to_string(metadata_bytes - 1) + " " + state.model_spec_json),
                  "runs past the end of the metadata");
}

// The metadata carries a Boost class version; one newer than this build knows is refused.
TEST_F(CheckpointCorruption, NewerMetadataVersionIsRefused) {
  expect_rejected(with_metadata_patch(bytes_, "serialization::archive 18 0 2 ", "serialization::archive 18 0 3 "),
                  "metadata version 3, this reads up to 2");
}

TEST_F(CheckpointCorruption, MissingFileAndDirectoryAreRejected) {
  EXPECT_THROW(read_checkpoint(dir_.file("absent.ckpt")), IoError);
  try {
    read_checkpoint(dir_.path());
    ADD_FAILURE() << "read of a directory succeeded";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointCorruption, HeaderReaderChecksSizesButNotPayload) {
  auto payload = bytes_;
  payload[payload.size() - 5] ^= std::byte{0x04};
  test::write_bytes(path_, payload);
  EXPECT_NO_THROW(read_checkpoint_header(path_));
  EXPECT_THROW(verify_checkpoint(path_), IoError);
  test::write_bytes(path_, std::vector<std::byte>(bytes_.begin(), bytes_.end() - 1));
  EXPECT_THROW(read_checkpoint_header(path_), IoError);
  test::write_bytes(path_, bytes_);
  EXPECT_NO_THROW(verify_checkpoint(path_));
}

}  // namespace
}  // namespace convoy
