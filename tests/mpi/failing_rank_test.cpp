// Fails on the last rank only: run by CTest to prove that mpi_main.cpp fails the whole job then.
#include <gtest/gtest.h>

#include "tests/mpi/mpi_world.hpp"

namespace convoy {
namespace {

TEST(MpiMain, FailureOnOneRankFailsTheJob) {
  EXPECT_NE(testing::world().rank(), testing::world().size() - 1) << "deliberate failure on the last rank";
}

}  // namespace
}  // namespace convoy
