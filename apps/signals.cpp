#include "apps/signals.hpp"

#include <csignal>
#include <cstring>
#include <unistd.h>

namespace convoy {
namespace {

std::atomic<int> g_signal{0};

extern "C" void on_stop_signal(int signum) {
  int none = 0;
  if (g_signal.compare_exchange_strong(none, signum)) return;
  // Slurm's `scancel --full -s USR1` reaches the batch shell and every rank, so a rank can get
  // SIGUSR1 twice for one request: it stays a request to checkpoint.
  if (signum == SIGUSR1) return;
  _exit(128 + signum);  // a second SIGINT or SIGTERM: leave now
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction action = {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int signum : {SIGUSR1, SIGTERM, SIGINT}) {
    sigaction(signum, &action, nullptr);
    sigaddset(&stop_signals, signum);
  }
  // Pending ones are delivered now, to the handler.
  sigprocmask(SIG_UNBLOCK, &stop_signals, nullptr);
}

const std::atomic<int>& stop_requested() { return g_signal; }

int stop_signal() { return g_signal.load(); }

std::string signal_name(int signum) {
  const char* abbreviation = sigabbrev_np(signum);  // glibc 2.32: "USR1", nullptr if unknown
  return abbreviation != nullptr ? std::string("SIG") + abbreviation : "an unknown signal";
}

}  // namespace convoy
