// Which host each rank runs on: gathered once at start-up for the run's start-up report.
#pragma once

#include <string>
#include <vector>

#include "distributed/communicator.hpp"

namespace convoy {

// Collective: every rank's host() in rank order, on every rank. A name longer than 255 bytes is
// cut to 255 (Linux host names have at most 64).
std::vector<std::string> gather_host_names(Communicator& comm);

// One line on how ranks sit on hosts, hosts in order of their lowest rank:
// "2 hosts: node01 (ranks 0-1), node02 (ranks 2-3)". Ranks of a host that are not consecutive
// are listed ("ranks 0,2"); beyond `max_hosts` hosts the rest is counted, not named.
std::string describe_hosts(const std::vector<std::string>& host_of_rank, int max_hosts = 8);

}  // namespace convoy
