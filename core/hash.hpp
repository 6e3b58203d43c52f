// FNV-1a: a small, stable 64-bit hash for fingerprints of specs, shapes and parameter bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace convoy {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

// Continues hash h over the bytes; stable across platforms with the same byte order.
inline uint64_t fnv1a(const void* data, size_t bytes, uint64_t h = kFnvOffset) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}

inline uint64_t fnv1a(std::string_view s, uint64_t h = kFnvOffset) { return fnv1a(s.data(), s.size(), h); }

}  // namespace convoy
