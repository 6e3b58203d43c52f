// The checks of core/error.hpp: what each throws, and that the debug-only one works when enabled.
// This file turns the debug checks on for itself, so the debug behaviour is tested in every build.
#define CONVOY_DEBUG_CHECKS 1
#include "core/error.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/error_message.hpp"

namespace convoy {
namespace {

using testing::error_message;

TEST(Error, CheckThrowsTheNamedTypeWithTheParts) {
  const int found = 3;
  EXPECT_EQ(error_message<ShapeError>([&] { CONVOY_CHECK(found == 2, ShapeError, "expected 2, found ", found); }),
            "expected 2, found 3");
  EXPECT_NO_THROW(CONVOY_CHECK(found == 3, ShapeError, "unused"));
}

TEST(Error, AssertsAreInternalErrorsWithFileAndLine) {
  const int size = 4;
  const std::string plain = error_message<InternalError>([&] { CONVOY_ASSERT(size > 5, "size ", size); });
  EXPECT_NE(plain.find("internal error at "), std::string::npos) << plain;
  EXPECT_NE(plain.find("error_test.cpp:"), std::string::npos) << plain;
  EXPECT_NE(plain.find("size > 5 size 4"), std::string::npos) << plain;
  const std::string debug = error_message<InternalError>([&] { CONVOY_DEBUG_ASSERT(size > 5, "size ", size); });
  EXPECT_NE(debug.find("error_test.cpp:"), std::string::npos) << debug;
  EXPECT_NE(debug.find("size > 5 size 4"), std::string::npos) << debug;
  EXPECT_NO_THROW(CONVOY_DEBUG_ASSERT(size == 4));
}

}  // namespace
}  // namespace convoy
