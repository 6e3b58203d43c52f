// The resident-memory figures convoy train prints after training.
#include "apps/runtime_info.hpp"

#include <gtest/gtest.h>

#include <sys/mman.h>

#include <cstring>

namespace convoy {
namespace {

TEST(ResidentMemory, GrowsByWhatIsTouchedAndThePeakKeepsIt) {
  const ResidentMemory before = resident_memory();
  ASSERT_GT(before.bytes, 0) << "/proc/self/status has no VmRSS";
  ASSERT_GE(before.peak_bytes, before.bytes);
  // A mapping of its own, not the allocator's: unmapped, it leaves at once (also under ASan).
  constexpr size_t kBytes = 64 << 20;
  void* block = mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(block, MAP_FAILED);
  const ResidentMemory mapped = resident_memory();
  EXPECT_LT(mapped.bytes, before.bytes + static_cast<int64_t>(kBytes / 2)) << "resident before it is written";
  std::memset(block, 1, kBytes);
  const ResidentMemory touched = resident_memory();
  EXPECT_GE(touched.bytes - before.bytes, static_cast<int64_t>(kBytes * 9 / 10));
  EXPECT_GE(touched.peak_bytes, touched.bytes);
  munmap(block, kBytes);
  const ResidentMemory after = resident_memory();
  EXPECT_LT(after.bytes, before.bytes + static_cast<int64_t>(kBytes / 2));
  EXPECT_GE(after.peak_bytes, before.bytes + static_cast<int64_t>(kBytes * 9 / 10));
}

TEST(ResidentMemory, TheLineGivesThePeakAndTheFigureBeforeTheModel) {
  EXPECT_EQ(
      memory_line({.bytes = 270'000'000, .peak_bytes = 280'000'000}, {.bytes = 700'000'000, .peak_bytes = 750'400'000}),
      "memory: peak 750 MB resident, 270 MB before the model was built");
  EXPECT_EQ(memory_line({}, {}), "memory: not reported by this system");
}

}  // namespace
}  // namespace convoy
