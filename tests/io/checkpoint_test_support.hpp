// Helpers shared by the checkpoint tests: a populated state, bitwise comparison, temp folders, byte patching.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include "tests/support/temp_dir.hpp"
#include "io/checkpoint.hpp"
#include "io/training_state.hpp"

namespace convoy::test {

// A state with every field set to something that differs from its default, including floats
// whose bits a lossy path would change (NaN payloads, -0, denormals, infinities) and strings
// with newlines, spaces and NULs.
inline TrainingState populated_state(int64_t step = 1234, size_t parameter_count = 97) {
  TrainingState s;
  s.model_spec_json = R"({"name": "keras-cnn", "layers": [{"type": "conv2d", "name": "conv 1"}]})";
  s.model_fingerprint = 0xfedcba9876543210ULL ^ static_cast<uint64_t>(step);
  s.parameters.resize(parameter_count);
  s.buffers = {0.5f, -0.0f, std::numeric_limits<float>::infinity(), 1e-30f};
  for (size_t i = 0; i < parameter_count; ++i) s.parameters[i] = std::sin(static_cast<float>(i) + step) * 3.5f;
  if (parameter_count >= 6) {
    uint32_t nan_bits = 0x7fc01234u;
    std::memcpy(&s.parameters[0], &nan_bits, 4);
    s.parameters[1] = -0.0f;
    s.parameters[2] = std::numeric_limits<float>::denorm_min();
    s.parameters[3] = std::numeric_limits<float>::infinity();
    s.parameters[4] = -std::numeric_limits<float>::max();
  }
  s.optimizer_json = R"({"type": "adam", "beta1": 0.9, "beta2": 0.999})";
  std::vector<float> m(parameter_count), v(parameter_count);
  for (size_t i = 0; i < parameter_count; ++i) {
    m[i] = 0.001f * static_cast<float>(i) - 0.02f;
    v[i] = 1e-8f * static_cast<float>(i * i);
  }
  s.optimizer_buffers = {{"adam_m", m}, {"adam_v", v}, {"empty buffer", {}}};
  s.optimizer_step = step;
  s.schedule_json = R"({"type": "cosine", "base_lr": 0.001})";
  s.epoch = 3;
  s.step = step;
  s.batch_in_epoch = 17;
  s.seed = std::numeric_limits<uint64_t>::max() - 5;
  s.world_size = 4;
  s.global_batch = 256;
  s.dataset_size = 60000;
  s.sample_shape = {1, 28, 28};
  s.dataset_fingerprint = 0x0badc0ffee000000ULL ^ static_cast<uint64_t>(step);
  s.preprocessing_json = R"({"size": [28, 28], "color": "grayscale", "class_names": ["a", "b"]})";
  s.metrics_history = {R"({"step": 100, "loss": 0.5})", "", "line with\nnewline and \t tab", std::string("nul\0byte", 8)};
  s.settings_json = "{\"lr\": -1e-3, \"note\": \"caf\xc3\xa9\"}";
  return s;
}

inline bool same_floats(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// Every field equal, floats compared bit for bit.
inline void expect_same_state(const TrainingState& a, const TrainingState& b) {
  EXPECT_EQ(a.model_spec_json, b.model_spec_json);
  EXPECT_EQ(a.model_fingerprint, b.model_fingerprint);
  EXPECT_TRUE(same_floats(a.parameters, b.parameters));
  EXPECT_TRUE(same_floats(a.buffers, b.buffers));
  EXPECT_EQ(a.optimizer_json, b.optimizer_json);
  ASSERT_EQ(a.optimizer_buffers.size(), b.optimizer_buffers.size());
  for (size_t i = 0; i < a.optimizer_buffers.size(); ++i) {
    EXPECT_EQ(a.optimizer_buffers[i].first, b.optimizer_buffers[i].first);
    EXPECT_TRUE(same_floats(a.optimizer_buffers[i].second, b.optimizer_buffers[i].second)) << "buffer " << i;
  }
  EXPECT_EQ(a.optimizer_step, b.optimizer_step);
  EXPECT_EQ(a.schedule_json, b.schedule_json);
  EXPECT_EQ(a.epoch, b.epoch);
  EXPECT_EQ(a.step, b.step);
  EXPECT_EQ(a.batch_in_epoch, b.batch_in_epoch);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.world_size, b.world_size);
  EXPECT_EQ(a.global_batch, b.global_batch);
  EXPECT_EQ(a.dataset_size, b.dataset_size);
  EXPECT_EQ(a.sample_shape, b.sample_shape);
  EXPECT_EQ(a.metrics_history, b.metrics_history);
  EXPECT_EQ(a.settings_json, b.settings_json);
  EXPECT_EQ(a.dataset_fingerprint, b.dataset_fingerprint);
  EXPECT_EQ(a.preprocessing_json, b.preprocessing_json);
}

using testing::TempDir;  // tests/support/temp_dir.hpp

inline std::vector<std::byte> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

inline void write_bytes(const std::string& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline uint64_t get_le(const std::vector<std::byte>& bytes, size_t offset, int width) {
  uint64_t v = 0;
  for (int i = 0; i < width; ++i) v |= static_cast<uint64_t>(bytes[offset + i]) << (8 * i);
  return v;
}

inline void put_le(std::vector<std::byte>& bytes, size_t offset, uint64_t v, int width) {
  if (offset + width > bytes.size()) throw std::out_of_range("put_le past the end");
  for (int i = 0; i < width; ++i) bytes[offset + i] = static_cast<std::byte>(v >> (8 * i));
}

// Header offsets from Note [Checkpoint layout].
inline constexpr size_t kVersionOffset = 8, kHeaderSizeOffset = 12, kFingerprintOffset = 16, kMetadataBytesOffset = 24,
                        kBlobBytesOffset = 32, kPayloadHashOffset = 40, kHeaderHashOffset = 56;

// Recomputes the header checksum (and, if asked, the payload checksum first) after a patch, so
// only the check under test can catch it.
inline void fix_checksums(std::vector<std::byte>& bytes, bool payload_too) {
  if (bytes.size() < kCheckpointHeaderSize) return;
  if (payload_too)
    put_le(bytes, kPayloadHashOffset, checkpoint_hash(std::span(bytes).subspan(kCheckpointHeaderSize)), 8);
  put_le(bytes, kHeaderHashOffset, checkpoint_hash(std::span(bytes).first(kHeaderHashOffset)), 8);
}

// Offset of the blob section: after the header and the metadata.
inline size_t blob_offset(const std::vector<std::byte>& bytes) {
  return kCheckpointHeaderSize + get_le(bytes, kMetadataBytesOffset, 8);
}

}  // namespace convoy::test
