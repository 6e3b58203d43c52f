// Seeded random damage to a valid checkpoint: every read verifies or throws IoError, nothing else.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "core/error.hpp"
#include "io/checkpoint.hpp"
#include "tests/io/checkpoint_test_support.hpp"

namespace convoy {
namespace {

enum class Outcome { verified, rejected };

// Reads `bytes`; any exception other than IoError is a test failure (a crash ends the test).
Outcome read(const std::vector<std::byte>& bytes, TrainingState& out, const std::string& what) {
  try {
    out = decode_checkpoint(bytes, "mutant");
    return Outcome::verified;
  } catch (const IoError&) {
    return Outcome::rejected;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": threw a non-IoError: " << e.what();
  } catch (...) {
    ADD_FAILURE() << what << ": threw something that is not a std::exception";
  }
  return Outcome::rejected;
}

// The engine's raw output is specified by the standard, so the mutations are the same everywhere.
uint64_t below(std::mt19937_64& rng, uint64_t n) { return n == 0 ? 0 : rng() % n; }

TEST(CheckpointMutation, RandomDamageIsVerifiedOrRejectedNeverACrash) {
  const TrainingState original = test::populated_state(77, 40);
  const std::vector<std::byte> valid = encode_checkpoint(original);
  const size_t blobs = test::blob_offset(valid);
  // Where the framing fields of the blob section sit: the count, then the parameters' frame.
  const std::vector<std::pair<size_t, int>> blob_fields = {{blobs, 4}, {blobs + 4, 4}, {blobs + 18, 8}};
  const std::vector<std::pair<size_t, int>> header_fields = {
      {test::kVersionOffset, 4},        {test::kHeaderSizeOffset, 4}, {test::kMetadataBytesOffset, 8},
      {test::kBlobBytesOffset, 8},      {test::kPayloadHashOffset, 8}};

  std::mt19937_64 rng(20261128);
  constexpr int kMutations = 10000;
  int verified = 0, rejected = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int m = 0; m < kMutations; ++m) {
    std::vector<std::byte> bytes = valid;
    const uint64_t kind = below(rng, 5);
    std::string what = "mutation " + std::to_string(m);
    if (kind == 0) {  // flip 1 to 4 bits anywhere
      const uint64_t flips = 1 + below(rng, 4);
      for (uint64_t f = 0; f < flips; ++f) bytes[below(rng, bytes.size())] ^= std::byte(1u << below(rng, 8));
      what += " (bit flips)";
    } else if (kind == 1) {  // truncate
      bytes.resize(below(rng, bytes.size()));
      what += " (truncated to " + std::to_string(bytes.size()) + ")";
    } else if (kind == 2 || kind == 3) {  // overwrite a size field with a random, huge or nearby value
      const auto [offset, width] = kind == 2 ? header_fields[below(rng, header_fields.size())]
                                             : blob_fields[below(rng, blob_fields.size())];
      const uint64_t current = test::get_le(bytes, offset, width);
      const uint64_t choice = below(rng, 3);
      const uint64_t value = choice == 0 ? rng() : choice == 1 ? current + below(rng, 17) - 8 : (uint64_t{1} << 40);
      test::put_le(bytes, offset, value, width);
      what += " (field at " + std::to_string(offset) + " = " + std::to_string(value) + ")";
    } else {  // append junk
      const uint64_t extra = 1 + below(rng, 64);
      for (uint64_t i = 0; i < extra; ++i) bytes.push_back(static_cast<std::byte>(rng()));
      what += " (appended " + std::to_string(extra) + " bytes)";
    }
    const bool recomputed = (rng() & 1) != 0;
    if (recomputed) test::fix_checksums(bytes, true);

    TrainingState state;
    const Outcome outcome = read(bytes, state, what);
    if (outcome == Outcome::rejected) {
      ++rejected;
      continue;
    }
    ++verified;
    if (!recomputed || bytes == valid) {
      // Without fresh checksums only the untouched bytes can verify, and they give the original.
      EXPECT_EQ(bytes, valid) << what << " verified despite stale checksums";
      test::expect_same_state(original, state);
    } else {
      // Damage under fresh checksums can decode to other values; those must be self-consistent.
      TrainingState again;
      ASSERT_EQ(read(encode_checkpoint(state), again, what + " re-encoded"), Outcome::verified) << what;
      test::expect_same_state(state, again);
    }
    if (::testing::Test::HasFailure()) break;  // one report, not thousands
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Most damage must be caught; a few mutations are no-ops (a size rewritten to its own value).
  EXPECT_GT(rejected, kMutations * 9 / 10) << verified << " verified";
  EXPECT_GT(verified, 0) << "no mutation left a readable file: the success path went untested";
  std::printf("[ mutation ] %d verified, %d rejected in %.2f s\n", verified, rejected, seconds);
}

}  // namespace
}  // namespace convoy
