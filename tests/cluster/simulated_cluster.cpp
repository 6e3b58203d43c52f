#include "tests/cluster/simulated_cluster.hpp"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include "tests/apps/run_command.hpp"

namespace convoy::testing {
namespace {

std::string script() { return std::string(CONVOY_SOURCE_DIR) + "/cluster/local/cluster.sh"; }

// "ct<pid><letter>": at most 10 characters, unique among the test processes running at once.
std::string unique_name() {
  static int made = 0;
  return "ct" + std::to_string(getpid()) + static_cast<char>('a' + made++ % 26);
}

// A test process killed outright (ctest's timeout) leaves its hosts behind: remove the clusters
// of test processes that no longer run, once per process.
void remove_stale_clusters() {
  static bool done = false;
  if (done) return;
  done = true;
  const std::regex ours(R"(^(ct(\d+)[a-z])-n\d+)");
  std::istringstream namespaces(run_command("ip netns list").output);
  std::set<std::string> stale;
  for (std::string line; std::getline(namespaces, line);) {
    std::smatch m;
    if (std::regex_search(line, m, ours) && kill(std::stoi(m[2]), 0) != 0 && errno == ESRCH) stale.insert(m[1]);
  }
  for (const std::string& name : stale) run_command(script() + " down --name " + name);
}

}  // namespace

SimulatedCluster::SimulatedCluster(int hosts, const std::string& up_options) : name_(unique_name()) {
  remove_stale_clusters();
  // The switch of links with a delay: the one built with these tests.
  const CommandResult r = run_command("CONVOY_LINK_SWITCH=" CONVOY_LINK_SWITCH " " + script() + " up --name " + name_ +
                                      " --hosts " + std::to_string(hosts) + " --subnet auto " + up_options);
  if (r.exit_code != 0) {
    run_command(script() + " down --name " + name_);
    throw std::runtime_error("cluster.sh up (exit code " + std::to_string(r.exit_code) + "): " + r.output);
  }
}

SimulatedCluster::~SimulatedCluster() { run_command(script() + " down --name " + name_); }

std::string SimulatedCluster::unavailable_reason() {
  const CommandResult r = run_command(script() + " check");
  return r.exit_code == 0 ? "" : r.output;
}

std::string SimulatedCluster::mpirun() const { return script() + " mpirun --name " + name_ + " "; }

long long SimulatedCluster::bytes_sent(int i) const {
  // The bridge end receives what the host sends.
  std::ifstream in("/sys/class/net/" + link(i) + "/statistics/rx_bytes");
  long long bytes = -1;
  in >> bytes;
  return bytes;
}

std::string SimulatedCluster::processes() const {
  return run_command("for p in $(" + script() + " pids --name " + name_ + "); do echo \"$p $(cat /proc/$p/comm 2>/dev/null)\"; done")
      .output;
}

}  // namespace convoy::testing
