// convoy-link-switch (cluster.sh --delay): what crosses a simulated link takes the link's delay,
// and a host receives no faster than its link's rate. Measured with TCP between the hosts.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/run_command.hpp"
#include "tests/cluster/simulated_cluster.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::SimulatedCluster;
using testing::TempDir;

// Round trips of one byte, and bulk transfers timed by the receiver.
constexpr const char* kProbe = R"(import select, socket, statistics, sys, time
def connect(host, port):
    for _ in range(100):
        try:
            return socket.create_connection((host, port))
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"cannot connect to {host}:{port}")
mode = sys.argv[1]
if mode == "echo":
    s = socket.create_server(("", 7777))
    c, _ = s.accept()
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    while (b := c.recv(1)):
        c.sendall(b)
elif mode == "rtt":
    c = connect(sys.argv[2], 7777)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rtts = []
    for _ in range(30):
        t = time.perf_counter()
        c.sendall(b"x")
        c.recv(1)
        rtts.append(time.perf_counter() - t)
    print(f"median round trip {1e6 * statistics.median(rtts):.0f} us")
elif mode == "sink":
    senders, size = int(sys.argv[2]), int(sys.argv[3])
    s = socket.create_server(("", 7778), backlog=senders)
    conns = [s.accept()[0] for _ in range(senders)]
    for c in conns:
        c.sendall(b"g")
    t = time.perf_counter()
    buf = bytearray(1 << 20)
    left = {c: size for c in conns}
    while left:
        for c in select.select(list(left), [], [])[0]:
            left[c] -= c.recv_into(buf)
            if left[c] <= 0:
                del left[c]
    print(f"received in {time.perf_counter() - t:.3f} s")
elif mode == "send":
    c = connect(sys.argv[2], 7778)
    c.recv(1)
    c.sendall(b"\0" * int(sys.argv[3]))
)";

class LinkSwitch : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string why = SimulatedCluster::unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << "cannot make simulated hosts here: " << why;
    std::ofstream(dir_.file("probe.py")) << kProbe;
  }
  // The probe on host i, its arguments following.
  std::string probe(const SimulatedCluster& cluster, int i) const {
    return "ip netns exec " + cluster.host(i) + " python3 " + dir_.file("probe.py") + " ";
  }
  static double figure(const std::string& output, const std::string& pattern) {
    std::smatch m;
    if (!std::regex_search(output, m, std::regex(pattern))) return -1;
    return std::stod(m[1]);
  }
  TempDir dir_;
};

TEST_F(LinkSwitch, HoldsEachFrameItsDelay) {
  SimulatedCluster cluster(2, "--delay 2ms");
  const CommandResult r = run_command("timeout -k 5 60 bash -c '" + probe(cluster, 2) + "echo & " + probe(cluster, 1) +
                                      "rtt " + cluster.host(2) + "; wait'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double rtt_us = figure(r.output, R"(median round trip (\d+) us)");
  // Two crossings of 2 ms each; what the hosts' own stacks and the switch add is tens of us,
  // but the probes are not real-time and share the cores with other tests: allow 4 ms more.
  EXPECT_GE(rtt_us, 4000) << r.output;
  EXPECT_LT(rtt_us, 8000) << r.output;
}

// Two hosts send 4 MB each to a third at once. Each sender's own link (tbf) lets 100 Mbit/s
// out; the receiving link, the switch's, takes in no more than that in all: 0.64 s at least.
TEST_F(LinkSwitch, AHostReceivesNoFasterThanItsLinkRate) {
  SimulatedCluster cluster(3, "--rate 100mbit --delay 1ms");
  const std::string bytes = "4000000";
  const CommandResult r = run_command("timeout -k 5 60 bash -c '" + probe(cluster, 3) + "sink 2 " + bytes + " & " +
                                      probe(cluster, 1) + "send " + cluster.host(3) + " " + bytes + " & " +
                                      probe(cluster, 2) + "send " + cluster.host(3) + " " + bytes + " & wait'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const double seconds = figure(r.output, R"(received in ([0-9.]+) s)");
  EXPECT_GE(seconds, 0.95 * 8e6 * 8 / 100e6) << r.output;
  EXPECT_LT(seconds, 3.0) << r.output;
}

}  // namespace
}  // namespace convoy
