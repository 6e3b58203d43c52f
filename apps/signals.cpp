#include "apps/signals.hpp"

#include <csignal>
#include <unistd.h>

namespace convoy {
namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int signum) {
  if (g_stop.exchange(true)) _exit(128 + signum);  // second signal: leave now
  g_signal.store(signum);
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  for (int signum : {SIGUSR1, SIGTERM, SIGINT}) sigaction(signum, &action, nullptr);
}

const std::atomic<bool>& stop_requested() { return g_stop; }

int stop_signal() { return g_signal.load(); }

}  // namespace convoy
