// A 64-bit value (a fingerprint, a checksum) as messages print it: 0x and 16 hex digits.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace convoy {

// Fixed width, so two fingerprints in one message line up digit for digit.
inline std::string hex(uint64_t value) {
  char buffer[19];
  std::snprintf(buffer, sizeof buffer, "0x%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

}  // namespace convoy
