// The stop-signal handlers in a child process: which repeated signals stay one request and
// which end the process at once.
#include "apps/signals.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <initializer_list>

namespace convoy {
namespace {

// Runs the handlers in a forked child that raises `signals` in order (raise() returns after the
// handler ran) and exits with 0 if the first one was recorded. Returns the child's wait status.
int raise_in_child(std::initializer_list<int> signals) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    install_stop_signal_handlers();
    for (int signum : signals) ::raise(signum);
    ::_exit(stop_signal() == *signals.begin() ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return status;
}

TEST(StopSignals, RepeatedUsr1StaysOneRequest) {
  const int status = raise_in_child({SIGUSR1, SIGUSR1, SIGUSR1});
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(StopSignals, ASecondTermOrIntLeavesAtOnce) {
  for (int second : {SIGTERM, SIGINT}) {
    const int status = raise_in_child({SIGUSR1, second});
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 128 + second);
  }
  const int status = raise_in_child({SIGTERM, SIGTERM});
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
}

}  // namespace
}  // namespace convoy
