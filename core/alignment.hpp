// The 64-byte alignment of float storage: buffers, offsets into the flat stores, scratch rows.
#pragma once

#include <cstdint>

namespace convoy {

// 16 floats = 64 bytes: one cache line, one AVX-512 register. A buffer or row that starts on
// such a boundary is read by whole aligned vectors and never straddles two lines per load.
constexpr int64_t kAlignFloats = 16;

// floats rounded up to a whole number of 64-byte lines.
constexpr int64_t align_floats(int64_t floats) { return (floats + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

}  // namespace convoy
