// Masks of a 16-lane vector's lanes, for the AVX-512 kernels' masked loads and stores.
#pragma once

#include <algorithm>
#include <cstdint>

namespace convoy {

// Lanes [lo, hi) of a 16-lane mask, clipped to [0, 16).
inline uint16_t lane_range(int64_t lo, int64_t hi) {
  lo = std::clamp<int64_t>(lo, 0, 16);
  hi = std::clamp<int64_t>(hi, lo, 16);
  return static_cast<uint16_t>(((1u << hi) - 1) & ~((1u << lo) - 1));
}

}  // namespace convoy
