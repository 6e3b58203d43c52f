#include "distributed/watchdog.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <string>
#include <thread>

#include "core/error.hpp"

namespace convoy {
namespace {

TEST(StallWatchdog, ReturnsOnceDoneAndThrowsNamingTheOperationAfterTheDeadline) {
  StallWatchdog watchdog(0.05);
  int polls = 0;
  watchdog.wait("Iallgather (float, 8 elements a rank)", [&] { return ++polls == 1000; });
  EXPECT_EQ(polls, 1000);
  watchdog.set_activity("training (last progress report: step 40, epoch 1)");
  const auto start = std::chrono::steady_clock::now();
  try {
    watchdog.wait("Bcast (8 elements)", [] { return false; });
    FAIL() << "expected a CommError";
  } catch (const CommError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("stalled: waited 0 s in Bcast (8 elements), collective 2 of this rank, during training "
                           "(last progress report: step 40, epoch 1); another rank has stopped taking part"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("The deadline (0.05 s) is set by CONVOY_STALL_TIMEOUT"), std::string::npos) << message;
  }
  watchdog.set_step(41);
  try {
    watchdog.wait("Iallreduce (float, 16 elements)", [] { return false; });
    FAIL() << "expected a CommError";
  } catch (const CommError& e) {
    EXPECT_NE(std::string(e.what()).find("collective 3 of this rank, in training step 41, during training"),
              std::string::npos)
        << e.what();
  }
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(waited, 0.05);
  EXPECT_LT(waited, 5.0);
}

TEST(StallWatchdog, ZeroNeverGivesUp) {
  StallWatchdog watchdog(0.0);
  EXPECT_EQ(watchdog.deadline_seconds(), 0.0);
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  watchdog.wait("Barrier (0 elements)", [&] { return std::chrono::steady_clock::now() > until; });
}

// The automatic deadline: the floor, or 10 x the longest time computed between two waits.
TEST(StallWatchdog, AutomaticDeadlineGrowsWithTheTimeBetweenCollectives) {
  EXPECT_EQ(StallWatchdog().deadline_seconds(), StallWatchdog::kFloorSeconds);
  StallWatchdog watchdog(StallWatchdog::kAutomatic, 0.01);
  watchdog.wait("first", [] { return true; });
  EXPECT_EQ(watchdog.deadline_seconds(), 0.01);  // nothing computed between waits yet
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  watchdog.wait("second", [] { return true; });
  EXPECT_GE(watchdog.deadline_seconds(), 10 * 0.05);
  EXPECT_LT(watchdog.deadline_seconds(), 10 * 5.0);
}

TEST(StallWatchdog, ReadsItsDeadlineFromTheEnvironment) {
  unsetenv("CONVOY_STALL_TIMEOUT");
  EXPECT_EQ(StallWatchdog::from_environment().deadline_seconds(), StallWatchdog::kFloorSeconds);
  setenv("CONVOY_STALL_TIMEOUT", "7.5", 1);
  EXPECT_EQ(StallWatchdog::from_environment().deadline_seconds(), 7.5);
  setenv("CONVOY_STALL_TIMEOUT", "0", 1);
  EXPECT_EQ(StallWatchdog::from_environment().deadline_seconds(), 0.0);
  for (const char* bad : {"ten", "-1", "5s"}) {
    setenv("CONVOY_STALL_TIMEOUT", bad, 1);
    try {
      StallWatchdog::from_environment();
      ADD_FAILURE() << "expected a ConfigError for " << bad;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("CONVOY_STALL_TIMEOUT='") + bad +
                                            "': expected seconds >= 0"),
                std::string::npos)
          << e.what();
    }
  }
  unsetenv("CONVOY_STALL_TIMEOUT");
}

}  // namespace
}  // namespace convoy
