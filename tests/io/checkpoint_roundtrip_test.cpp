// Checkpoint round trips, the golden-bytes pin of the format, and the inspect description.
#include <gtest/gtest.h>

#include "io/checkpoint.hpp"
#include "tests/io/checkpoint_test_support.hpp"

namespace convoy {
namespace {

using test::TempDir;

TEST(CheckpointRoundTrip, EveryFieldSurvivesBitwise) {
  TempDir dir;
  const TrainingState state = test::populated_state();
  const std::string path = dir.file("step-1234.ckpt");
  write_checkpoint(path, state);
  const TrainingState back = read_checkpoint(path);
  test::expect_same_state(state, back);
}

TEST(CheckpointRoundTrip, EmptyStateSurvives) {
  TempDir dir;
  const TrainingState state;
  write_checkpoint(dir.file("empty.ckpt"), state);
  test::expect_same_state(state, read_checkpoint(dir.file("empty.ckpt")));
}

TEST(CheckpointRoundTrip, FileHoldsExactlyTheEncodedBytes) {
  TempDir dir;
  const TrainingState state = test::populated_state();
  write_checkpoint(dir.file("a.ckpt"), state);
  const auto bytes = test::read_bytes(dir.file("a.ckpt"));
  EXPECT_EQ(bytes, encode_checkpoint(state));
  test::expect_same_state(state, decode_checkpoint(bytes, "memory"));
}

TEST(CheckpointRoundTrip, OverwritesAnExistingCheckpoint) {
  TempDir dir;
  const std::string path = dir.file("step-1.ckpt");
  write_checkpoint(path, test::populated_state(1, 300));
  const TrainingState second = test::populated_state(2, 10);
  write_checkpoint(path, second);
  test::expect_same_state(second, read_checkpoint(path));
}

TEST(CheckpointRoundTrip, HeaderReportsVersionFingerprintAndSizes) {
  TempDir dir;
  const TrainingState state = test::populated_state();
  write_checkpoint(dir.file("a.ckpt"), state);
  const CheckpointHeader header = read_checkpoint_header(dir.file("a.ckpt"));
  EXPECT_EQ(header.format_version, kCheckpointFormatVersion);
  EXPECT_EQ(header.header_size, kCheckpointHeaderSize);
  EXPECT_EQ(header.model_fingerprint, state.model_fingerprint);
  EXPECT_EQ(kCheckpointHeaderSize + header.metadata_bytes + header.blob_bytes,
            std::filesystem::file_size(dir.file("a.ckpt")));
  // Parameters, the model's 4 buffer floats and three optimizer buffers, each framed by a name
  // and a length.
  const uint64_t floats = state.parameters.size() * 3 + state.buffers.size();
  EXPECT_EQ(header.blob_bytes, 4 + floats * 4 + (4 + 10 + 8) + (4 + 7 + 8) + (4 + 6 + 8) * 2 + (4 + 12 + 8));
}

TEST(CheckpointRoundTrip, MatchingFingerprintIsAccepted) {
  TempDir dir;
  const TrainingState state = test::populated_state();
  write_checkpoint(dir.file("a.ckpt"), state);
  test::expect_same_state(state, read_checkpoint(dir.file("a.ckpt"), state.model_fingerprint));
}

// A recipe that must keep producing the same bytes: nothing in it depends on the platform's
// math library or on the clock.
TrainingState golden_state() {
  TrainingState s;
  s.model_spec_json = R"({"name":"golden","layers":[{"type":"dense","name":"fc","options":{"units":3}}]})";
  s.model_fingerprint = 0x0123456789abcdefULL;
  for (int i = 0; i < 15; ++i) s.parameters.push_back(static_cast<float>(i) * 0.25f - 1.0f);
  s.optimizer_json = R"({"type":"sgd","momentum":0.9})";
  std::vector<float> momentum;
  for (int i = 0; i < 15; ++i) momentum.push_back(static_cast<float>(i % 4) * -0.5f);
  s.optimizer_buffers = {{"momentum", momentum}};
  s.optimizer_step = 42;
  s.schedule_json = R"({"type":"constant","lr":0.01})";
  s.epoch = 2;
  s.step = 42;
  s.batch_in_epoch = 5;
  s.seed = 7;
  s.world_size = 2;
  s.global_batch = 32;
  s.dataset_size = 600;
  s.sample_shape = {1, 4, 4};
  s.metrics_history = {R"({"step":20,"loss":1.5})", R"({"step":40,"loss":1.25})"};
  s.settings_json = R"({"checkpoint_every":21})";
  return s;
}

// golden_state() with format version 2's fields.
TrainingState golden_state_v2() {
  TrainingState s = golden_state();
  s.buffers = {0.0f, 1.0f, 0.5f};
  s.dataset_fingerprint = 0x1122334455667788ULL;
  s.preprocessing_json = R"({"size":[4,4],"color":"grayscale"})";
  return s;
}

// The bytes format version 1 wrote for golden_state() (encode_checkpoint before version 2).
constexpr const char* kGoldenVersion1 =
    "434f4e564f59434b0100000040000000efcdab89674523012d01000000000000a600000000000000b6a35760dd32d83a0000"
    "0000000000003966674fe2356e0f32322073657269616c697a6174696f6e3a3a617263686976652031382030203120373920"
    "7b226e616d65223a22676f6c64656e222c226c6179657273223a5b7b2274797065223a2264656e7365222c226e616d65223a"
    "226663222c226f7074696f6e73223a7b22756e697473223a337d7d5d7d203239207b2274797065223a22736764222c226d6f"
    "6d656e74756d223a302e397d203432203239207b2274797065223a22636f6e7374616e74222c226c72223a302e30317d2032"
    "20343220352037203220333220363030203320302031203420342030203020322030203232207b2273746570223a32302c22"
    "6c6f7373223a312e357d203233207b2273746570223a34302c226c6f7373223a312e32357d203233207b22636865636b706f"
    "696e745f6576657279223a32317d0a020000000a000000706172616d65746572730f00000000000000000080bf000040bf00"
    "0000bf000080be000000000000803e0000003f0000403f0000803f0000a03f0000c03f0000e03f0000004000001040000020"
    "40080000006d6f6d656e74756d0f0000000000000000000080000000bf000080bf0000c0bf00000080000000bf000080bf00"
    "00c0bf00000080000000bf000080bf0000c0bf00000080000000bf000080bf"
    ;

std::vector<std::byte> from_hex(const std::string& hex) {
  std::vector<std::byte> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<std::byte>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

// Pins the exact bytes of format version 2. If this fails, the file format changed: that needs
// a new kCheckpointFormatVersion, a reader that still accepts the old version (as the test
// below does for version 1), and only then a new constant here. (A Boost upgrade that changes
// its archive header also shows up here.)
TEST(CheckpointGolden, PinnedRecipeHasPinnedBytes) {
  const auto bytes = encode_checkpoint(golden_state_v2());
  EXPECT_EQ(bytes.size(), 620u) << "golden size";
  EXPECT_EQ(checkpoint_hash(bytes), 0x9e1c9ca218e770faULL) << std::hex << "golden hash 0x" << checkpoint_hash(bytes);
  test::expect_same_state(golden_state_v2(), decode_checkpoint(bytes, "golden"));
}

// A file of format version 1 still loads: no buffers, no dataset fingerprint, no preprocessing.
TEST(CheckpointGolden, VersionOneFileStillLoads) {
  const std::vector<std::byte> bytes = from_hex(kGoldenVersion1);
  ASSERT_EQ(bytes.size(), 531u);
  EXPECT_EQ(checkpoint_hash(bytes), 0x272d905dcdec84c9ULL);
  const TrainingState state = decode_checkpoint(bytes, "version 1");
  test::expect_same_state(golden_state(), state);
  EXPECT_TRUE(state.buffers.empty());
}

TEST(CheckpointDescribe, NamesCursorModelOptimizerAndHashes) {
  TempDir dir;
  TrainingState state = test::populated_state();
  const std::string path = dir.file("step-1234.ckpt");
  write_checkpoint(path, state);
  const std::string text = describe_checkpoint(read_checkpoint(path), path);
  EXPECT_NE(text.find("format version: 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("buffers: 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("step: 1234\n"), std::string::npos) << text;
  EXPECT_NE(text.find("epoch: 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("batch_in_epoch: 17\n"), std::string::npos) << text;
  EXPECT_NE(text.find("world size: 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("global batch: 256\n"), std::string::npos) << text;
  EXPECT_NE(text.find("model: keras-cnn\n"), std::string::npos) << text;
  EXPECT_NE(text.find("parameters: 97\n"), std::string::npos) << text;
  EXPECT_NE(text.find("optimizer: " + state.optimizer_json + "\n"), std::string::npos) << text;
  EXPECT_NE(text.find("optimizer buffer adam_m: 97 floats, xxh64 0x"), std::string::npos) << text;

  // The parameter hash follows the parameter bytes.
  const auto hash_line = [](const std::string& t) {
    const size_t at = t.find("parameters xxh64: ");
    return t.substr(at, t.find('\n', at) - at);
  };
  TrainingState changed = state;
  changed.parameters[50] = std::nextafter(changed.parameters[50], 100.0f);
  write_checkpoint(path, changed);
  EXPECT_NE(hash_line(text), hash_line(describe_checkpoint(changed, path)));
  EXPECT_EQ(hash_line(text), hash_line(describe_checkpoint(state, path)));
}

}  // namespace
}  // namespace convoy
