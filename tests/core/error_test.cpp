// The checks of core/error.hpp: what each throws, and that the debug-only one works when enabled.
// This file turns the debug checks on for itself, so the debug behaviour is tested in every build.
#define CONVOY_DEBUG_CHECKS 1
#include "core/error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace convoy {
namespace {

template <typename E, typename F>
std::string message_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "no exception";
}

TEST(Error, CheckThrowsTheNamedTypeWithTheParts) {
  const int found = 3;
  EXPECT_EQ(message_of<ShapeError>([&] { CONVOY_CHECK(found == 2, ShapeError, "expected 2, found ", found); }),
            "expected 2, found 3");
  EXPECT_NO_THROW(CONVOY_CHECK(found == 3, ShapeError, "unused"));
}

TEST(Error, AssertsAreInternalErrorsWithFileAndLine) {
  const int size = 4;
  const std::string plain = message_of<InternalError>([&] { CONVOY_ASSERT(size > 5, "size ", size); });
  EXPECT_NE(plain.find("internal error at "), std::string::npos) << plain;
  EXPECT_NE(plain.find("error_test.cpp:"), std::string::npos) << plain;
  EXPECT_NE(plain.find("size > 5 size 4"), std::string::npos) << plain;
  const std::string debug = message_of<InternalError>([&] { CONVOY_DEBUG_ASSERT(size > 5, "size ", size); });
  EXPECT_NE(debug.find("error_test.cpp:"), std::string::npos) << debug;
  EXPECT_NE(debug.find("size > 5 size 4"), std::string::npos) << debug;
  EXPECT_NO_THROW(CONVOY_DEBUG_ASSERT(size == 4));
}

}  // namespace
}  // namespace convoy
