// The FMA peak `convoy bench --shapes` sets the kernels against: a vector ISA's loop must
// outrun the portable one by far (8 or 16 lanes against at most 4), or it measures nothing.
#include "core/kernels/fma_peak.hpp"

#include <gtest/gtest.h>

#include "core/kernels/cpu_features.hpp"

namespace convoy {
namespace {

TEST(FmaPeak, VectorLoopsOutrunThePortableOne) {
  const Isa original = active_isa();
  ASSERT_TRUE(set_isa(Isa::generic));
  const double generic = measure_fma_peak(0.05);
  EXPECT_GT(generic, 0.1);
  for (Isa isa : {Isa::avx2, Isa::avx512}) {
    if (!set_isa(isa)) continue;
    SCOPED_TRACE(isa_name(isa));
    EXPECT_GT(measure_fma_peak(0.05), 1.5 * generic);
  }
  set_isa(original);
}

}  // namespace
}  // namespace convoy
