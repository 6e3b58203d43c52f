// A simulated cluster for one test: cluster/local/cluster.sh up on construction, down on destruction.
#pragma once

#include <string>

namespace convoy::testing {

// Hosts are network namespaces on a private bridge (see cluster/local/cluster.sh). Names and
// the subnet are unique per object and process, so tests running in parallel do not collide.
class SimulatedCluster {
 public:
  // Throws std::runtime_error with the script's output if the cluster cannot be made.
  explicit SimulatedCluster(int hosts, const std::string& up_options = "");
  ~SimulatedCluster();  // tears down, also killing whatever still runs on the hosts
  SimulatedCluster(const SimulatedCluster&) = delete;
  SimulatedCluster& operator=(const SimulatedCluster&) = delete;

  // Why namespaces cannot be made here ("" if they can): for GTEST_SKIP.
  static std::string unavailable_reason();

  // "cluster.sh mpirun --name NAME ": append mpirun options and the program.
  std::string mpirun() const;
  const std::string& name() const { return name_; }
  std::string host(int i) const { return name_ + "-n" + std::to_string(i); }  // i from 1
  std::string link(int i) const { return name_ + "-v" + std::to_string(i); }  // host i's bridge end
  // Bytes host i has sent over its link so far.
  long long bytes_sent(int i) const;
  // The processes still running on any host ("" if none), with their command names.
  std::string processes() const;

 private:
  std::string name_;
};

}  // namespace convoy::testing
