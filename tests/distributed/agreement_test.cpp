#include "distributed/agreement.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "distributed/local_communicator.hpp"

namespace convoy {
namespace {

TEST(Agreement, WorldOfOneAgreesWithItself) {
  LocalCommunicator comm;
  EXPECT_TRUE(any_rank(comm, true));
  EXPECT_FALSE(any_rank(comm, false));
  EXPECT_NO_THROW(check_same_on_all_ranks(comm, 42, "answer"));
  int calls = 0;
  run_on_all_ranks(comm, "counting", [&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST(Agreement, WorldOfOneRethrowsTheOriginalError) {
  LocalCommunicator comm;
  try {
    run_on_all_ranks(comm, "opening data", [] { throw IoError("data.h5: no such file"); });
    FAIL() << "expected an IoError";
  } catch (const IoError& e) {
    EXPECT_STREQ(e.what(), "data.h5: no such file");
  }
}

}  // namespace
}  // namespace convoy
