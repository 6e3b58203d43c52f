#include "distributed/host_map.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace convoy {
namespace {

constexpr int64_t kNameBytes = 256;  // a row per rank: up to 255 bytes of name, then zeros
constexpr int64_t kNameWords = kNameBytes / 8;

// "0-3" for a run of consecutive ranks, else "0,2,5".
std::string rank_list(const std::vector<int>& ranks) {
  const bool consecutive = ranks.back() - ranks.front() + 1 == static_cast<int>(ranks.size());
  if (ranks.size() > 1 && consecutive) return std::to_string(ranks.front()) + "-" + std::to_string(ranks.back());
  std::string out;
  for (int r : ranks) out += (out.empty() ? "" : ",") + std::to_string(r);
  return out;
}

}  // namespace

std::vector<std::string> gather_host_names(Communicator& comm) {
  // Each rank fills only its own row; a sum with zeros elsewhere is a gather.
  std::vector<int64_t> rows(static_cast<size_t>(comm.size() * kNameWords), 0);
  const std::string mine = comm.host();
  std::memcpy(rows.data() + comm.rank() * kNameWords, mine.data(),
              std::min<size_t>(mine.size(), kNameBytes - 1));
  comm.allreduce_sum(rows.data(), static_cast<int64_t>(rows.size()));
  std::vector<std::string> names(static_cast<size_t>(comm.size()));
  for (int r = 0; r < comm.size(); ++r) {
    const char* row = reinterpret_cast<const char*>(rows.data() + r * kNameWords);
    names[r].assign(row, strnlen(row, kNameBytes));
  }
  return names;
}

std::string describe_hosts(const std::vector<std::string>& host_of_rank, int max_hosts) {
  std::vector<std::pair<std::string, std::vector<int>>> hosts;  // in order of first rank
  for (int r = 0; r < static_cast<int>(host_of_rank.size()); ++r) {
    auto it = std::find_if(hosts.begin(), hosts.end(), [&](const auto& h) { return h.first == host_of_rank[r]; });
    if (it == hosts.end()) it = hosts.insert(hosts.end(), {host_of_rank[r], {}});
    it->second.push_back(r);
  }
  std::string line = std::to_string(hosts.size()) + (hosts.size() == 1 ? " host: " : " hosts: ");
  for (size_t h = 0; h < hosts.size() && h < static_cast<size_t>(max_hosts); ++h) {
    const auto& [name, ranks] = hosts[h];
    line += (h == 0 ? "" : ", ") + name + (ranks.size() == 1 ? " (rank " : " (ranks ") + rank_list(ranks) + ")";
  }
  if (hosts.size() > static_cast<size_t>(max_hosts))
    line += ", and " + std::to_string(hosts.size() - max_hosts) + " more";
  return line;
}

}  // namespace convoy
