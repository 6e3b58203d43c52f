// convoy-link-switch: the simulated cluster's switch when its links have a latency.
//
//   convoy-link-switch --delay NS [--rate BITS] [--ready FILE] PORT...
//
// Each PORT is a persistent tap device made by cluster.sh (`ip tuntap add ... mode tap vnet_hdr`):
// IFNAME in this network namespace, or NETNS/IFNAME in /run/netns/NETNS. The switch attaches to
// every port, touches FILE, and then forwards Ethernet frames between the ports as a learning
// switch does, each frame delivered --delay nanoseconds after it left its host (the one-way
// latency between any two ports) and, with --rate, no faster than that rate on the receiving
// port's link (Note [Link timing]). It runs until killed; a tap without its switch has no
// carrier, so killing the switch cuts every link.
//
// Why not the kernel: `tc netem` delays packets, but many kernels (this project's CI machines
// among them) are built without it, and an EDT delay needs the fq qdisc, also often missing.
// A tap device is in every kernel.
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// Note [Link timing]
// A frame of B bytes that leaves host a at time t reaches host b at
//     max(t, free_b) + 8 B / rate + delay,   free_b := max(t, free_b) + 8 B / rate,
// where free_b is when b's link finishes sending what it already holds: b's link is a queue
// served at the rate, then a pipe of fixed latency. The sending side's rate is the host's own
// tbf on its tap (cluster.sh), whose queue pushes back on the sender's TCP as a real NIC's does;
// this side adds the receiving link, where several senders meet (incast). A frame that would
// wait more than kMaxQueue in b's queue is dropped, as a switch port drops when its buffer is
// full. B counts the Ethernet frame; a segmentation-offload frame (up to 64 KiB, as veth and
// tap pass them) counts the headers of each segment it stands for. Frames to one port keep
// their order: their delivery times only grow.
constexpr int64_t kMaxQueue = 50'000'000;  // ns: tbf's 50 ms on the sending side, as cluster.sh sets

// The header a tap with IFF_VNET_HDR puts before each frame (struct virtio_net_hdr of
// <linux/virtio_net.h>, which C++ cannot include: a member there is named `class`).
struct VnetHeader {
  uint8_t flags;
  uint8_t gso_type;   // 0: not a segmentation-offload frame
  uint16_t hdr_len;   // headers of each segment, bytes
  uint16_t gso_size;  // payload of each segment, bytes
  uint16_t csum_start;
  uint16_t csum_offset;
};
constexpr size_t kVnetHeader = sizeof(VnetHeader);
static_assert(kVnetHeader == 10);
constexpr size_t kMaxFrame = kVnetHeader + 65536 + 64;

int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + (errno ? std::string(": ") + std::strerror(errno) : ""));
}

struct Frame {
  int64_t due;                // ns, CLOCK_MONOTONIC
  std::vector<uint8_t> data;  // virtio_net_hdr, then the Ethernet frame
};

struct Port {
  int fd = -1;
  int64_t link_free = 0;  // ns: when this port's link has sent everything queued for it
  std::deque<Frame> queue;
};

// Opens the tap IFNAME, in the network namespace NETNS for "NETNS/IFNAME", and makes it carry
// checksum and segmentation offloads, so TCP moves 64 KiB frames as it does over veth.
int attach_tap(const std::string& port) {
  const size_t slash = port.find('/');
  const std::string ifname = slash == std::string::npos ? port : port.substr(slash + 1);
  int home = -1;
  if (slash != std::string::npos) {
    home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    const std::string path = "/run/netns/" + port.substr(0, slash);
    const int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (home < 0 || ns < 0 || setns(ns, CLONE_NEWNET) != 0) fail("port " + port + ": cannot enter " + path);
    close(ns);
  }
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) fail("port " + port + ": cannot open /dev/net/tun");
  ifreq request{};
  std::snprintf(request.ifr_name, IFNAMSIZ, "%s", ifname.c_str());
  request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(fd, TUNSETIFF, &request) != 0)
    fail("port " + port + ": cannot attach to tap " + ifname + " (made with `ip tuntap add mode tap vnet_hdr`?)");
  if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) != 0) fail("port " + port + ": TUNSETOFFLOAD");
  if (home >= 0) {
    if (setns(home, CLONE_NEWNET) != 0) fail("port " + port + ": cannot return to this network namespace");
    close(home);
  }
  return fd;
}

// Bytes the frame stands for on the link: an offload frame counts each segment's headers.
int64_t wire_bytes(const uint8_t* frame, size_t size) {
  VnetHeader header{};
  std::memcpy(&header, frame, kVnetHeader);
  const auto bytes = static_cast<int64_t>(size - kVnetHeader);
  if (header.gso_type == 0 || header.gso_size == 0) return bytes;
  const int64_t payload = bytes - header.hdr_len;
  const int64_t segments = (payload + header.gso_size - 1) / header.gso_size;
  return bytes + (segments - 1) * header.hdr_len;
}

uint64_t mac_at(const uint8_t* p) {
  uint64_t mac = 0;
  std::memcpy(&mac, p, 6);
  return mac;
}

class Switch {
 public:
  Switch(std::vector<Port> ports, int64_t delay, double rate) : ports_(std::move(ports)), delay_(delay), rate_(rate) {}

  [[noreturn]] void run() {
    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (epoll < 0 || timer_ < 0) fail("epoll or timerfd");
    for (size_t i = 0; i <= ports_.size(); ++i) {
      epoll_event event{.events = EPOLLIN, .data = {.u64 = i}};  // index ports_.size(): the timer
      if (epoll_ctl(epoll, EPOLL_CTL_ADD, i < ports_.size() ? ports_[i].fd : timer_, &event) != 0) fail("epoll_ctl");
    }
    std::vector<epoll_event> events(ports_.size() + 1);
    for (;;) {
      const int n = epoll_wait(epoll, events.data(), static_cast<int>(events.size()), -1);
      if (n < 0 && errno != EINTR) fail("epoll_wait");
      for (int e = 0; e < n; ++e) {
        if (events[e].data.u64 < ports_.size()) receive(events[e].data.u64);
      }
      deliver_due();
    }
  }

 private:
  // Reads what port `from` has sent (a bounded number of frames, so no port starves the others).
  void receive(size_t from) {
    for (int k = 0; k < 64; ++k) {
      const ssize_t size = read(ports_[from].fd, buffer_.data(), buffer_.size());
      if (size < 0) return;  // EAGAIN: nothing more now
      if (static_cast<size_t>(size) < kVnetHeader + 14) continue;
      size_ = static_cast<size_t>(size);
      const uint8_t* ethernet = buffer_.data() + kVnetHeader;
      const uint64_t source = mac_at(ethernet + 6);
      if ((ethernet[6] & 1) == 0) where_[source] = from;
      const auto to = where_.find(mac_at(ethernet));
      const int64_t now = now_ns();
      if ((ethernet[0] & 1) == 0 && to != where_.end()) {
        if (to->second != from) enqueue(to->second, now);
      } else {  // broadcast, multicast or not yet learned: every other port
        for (size_t p = 0; p < ports_.size(); ++p)
          if (p != from) enqueue(p, now);
      }
    }
  }

  void enqueue(size_t to, int64_t now) {  // Note [Link timing]
    Port& port = ports_[to];
    const int64_t start = std::max(now, port.link_free);
    if (start - now > kMaxQueue) return;
    const int64_t sending =
        rate_ > 0 ? static_cast<int64_t>(8e9 * static_cast<double>(wire_bytes(buffer_.data(), size_)) / rate_) : 0;
    port.link_free = start + sending;
    port.queue.push_back({port.link_free + delay_, {buffer_.begin(), buffer_.begin() + static_cast<ptrdiff_t>(size_)}});
  }

  // Writes every frame whose time has come, then sets the timer for the next one.
  void deliver_due() {
    uint64_t expirations = 0;
    while (read(timer_, &expirations, sizeof expirations) > 0) {
    }
    int64_t next = INT64_MAX;
    const int64_t now = now_ns();
    for (Port& port : ports_) {
      while (!port.queue.empty() && port.queue.front().due <= now) {
        // A port whose host is gone (or its link down) refuses the frame: it is lost, as on a wire.
        const Frame& frame = port.queue.front();
        (void)!write(port.fd, frame.data.data(), frame.data.size());
        port.queue.pop_front();
      }
      if (!port.queue.empty()) next = std::min(next, port.queue.front().due);
    }
    itimerspec at{};
    if (next != INT64_MAX) at.it_value = {.tv_sec = next / 1'000'000'000, .tv_nsec = next % 1'000'000'000};
    timerfd_settime(timer_, TFD_TIMER_ABSTIME, &at, nullptr);
  }

  std::vector<Port> ports_;
  int64_t delay_;
  double rate_;  // bits per second; 0: no limit
  int timer_ = -1;
  std::map<uint64_t, size_t> where_;                               // MAC address -> the port it was last seen on
  std::vector<uint8_t> buffer_ = std::vector<uint8_t>(kMaxFrame);  // the frame read last: size_ bytes
  size_t size_ = 0;
};

// The switch's deadlines are tens of microseconds: a timer slack of 50 us (Linux's default)
// or ranks spinning in MPI on every core would stretch them. A real-time priority lets the
// switch preempt them; it sleeps between frames, so it takes little.
void prefer_time() {
  prctl(PR_SET_TIMERSLACK, 1UL);
  sched_param priority{.sched_priority = 10};
  if (sched_setscheduler(0, SCHED_FIFO, &priority) != 0)
    std::fprintf(stderr, "convoy-link-switch: no real-time priority (%s); delays may stretch under load\n",
                 std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    CLI::App app{"convoy-link-switch: a learning switch between tap devices, with link latency and rate"};
    int64_t delay = 0;
    double rate = 0;
    std::string ready;
    std::vector<std::string> names;
    app.add_option("--delay", delay, "one-way latency between any two ports, in nanoseconds")
        ->required()
        ->check(CLI::NonNegativeNumber);
    app.add_option("--rate", rate, "each port's receiving link, in bits per second (default: no limit)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--ready", ready, "file to create once every port is attached");
    app.add_option("ports", names, "tap devices: IFNAME or NETNS/IFNAME")->required()->expected(2, -1);
    CLI11_PARSE(app, argc, argv);
    std::vector<Port> ports;
    for (const std::string& name : names) {
      ports.emplace_back().fd = attach_tap(name);
    }
    prefer_time();
    if (!ready.empty()) {
      const int fd = open(ready.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) fail("--ready " + ready);
      close(fd);
    }
    errno = 0;
    Switch(std::move(ports), delay, rate).run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "convoy-link-switch: %s\n", e.what());
    return 1;
  }
}
