// error_message<E>(f): the message of the E that f throws, for tests that check what an error says.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <string>

namespace convoy::testing {

// Fails the test (and returns "") if f throws another type or nothing.
template <typename E, typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception type: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected an exception";
  return "";
}

}  // namespace convoy::testing
