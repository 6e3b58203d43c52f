// convoy train across simulated hosts (cluster/local/: network namespaces on a private bridge):
// the bits of one machine's ranks, and a job that loses a rank or a link, or is preempted, ends
// in time and resumes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <regex>
#include <thread>

#include "io/checkpoint.hpp"
#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/run_command.hpp"
#include "tests/cluster/simulated_cluster.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::SimulatedCluster;
using testing::TempDir;

using Clock = std::chrono::steady_clock;

bool has_checkpoint(const std::string& dir) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.path().extension() == ".ckpt") return true;
  return false;
}

struct InterruptedRun {
  CommandResult result;
  bool interrupted = false;         // the action ran
  double seconds_after_action = 0;  // from the action's start to the command's end
};

// Runs `command`; once a checkpoint appears in `dir` (the job is training), runs `action` once.
InterruptedRun run_and_interrupt(const std::string& command, const std::string& dir,
                                 const std::function<void()>& action) {
  std::atomic<bool> finished{false};
  Clock::time_point acted;
  InterruptedRun run;
  std::thread interrupter([&] {
    while (!finished && !has_checkpoint(dir)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (finished) return;
    acted = Clock::now();
    run.interrupted = true;
    action();
  });
  run.result = run_command(command);
  const Clock::time_point end = Clock::now();
  finished = true;
  interrupter.join();
  if (run.interrupted) run.seconds_after_action = std::chrono::duration<double>(end - acted).count();
  return run;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class ClusterTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    unavailable_ = SimulatedCluster::unavailable_reason();
    if (!unavailable_.empty()) return;
    data_ = new TempDir();
    testing::write_fashion_mnist_h5("train", 1000, data_->file("train.h5"));
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }
  void SetUp() override {
    if (!unavailable_.empty())
      GTEST_SKIP() << "cannot make simulated hosts here (needs root, network namespaces, veth and bridges): "
                   << unavailable_;
  }

  // keras-cnn on 1000 samples, global batch 48: 21 steps an epoch (20 of 48, one of 40). On 3
  // ranks each takes 16 samples (2 groups of 8), so the ordered reduction sums in one fixed tree
  // wherever the ranks run.
  static std::string train(const std::string& checkpoints, const std::string& extra) {
    return std::string(CONVOY_BINARY) + " train --data " + data_->file("train.h5") +
           " --model keras-cnn --batch 48 --optimizer sgd --momentum 0.9 --lr 0.01 --threads 1 --seed 5"
           " --progress lines --checkpoint-dir " + checkpoints + " " + extra;
  }
  // 3 ranks on this machine, as the MPI tests run them.
  static std::string local_mpirun() {
    return std::string(CONVOY_MPIEXEC) + " -np 3 --oversubscribe --allow-run-as-root --bind-to none -x OMP_NUM_THREADS=1 ";
  }
  // mpirun on the simulated hosts; append the program.
  static std::string on(const SimulatedCluster& cluster, const std::string& mpirun_options) {
    return cluster.mpirun() + mpirun_options + " -x OMP_NUM_THREADS=1 ";
  }
  // Bounded: a hung job is killed (and the cluster's teardown ends what it left on the hosts).
  static std::string bounded(const std::string& command, int seconds = 90) {
    return "timeout -k 5 " + std::to_string(seconds) + " " + command;
  }

  static std::string unavailable_;
  static TempDir* data_;
};

std::string ClusterTrain::unavailable_;
TempDir* ClusterTrain::data_ = nullptr;

TEST_F(ClusterTrain, ThreeHostsTrainTheBitsOfThreeLocalRanks) {
  SimulatedCluster cluster(3);
  TempDir local, spread;
  const std::string steps = "--epochs 2 --stop-after 30";
  const CommandResult r1 = run_command(local_mpirun() + train(local.path(), steps));
  ASSERT_EQ(r1.exit_code, 3) << r1.output;
  const long long sent_before = cluster.bytes_sent(2);
  const CommandResult r3 = run_command(bounded(on(cluster, "-np 3") + train(spread.path(), steps)));
  ASSERT_EQ(r3.exit_code, 3) << r3.output;
  const std::string hosts = "3 hosts: " + cluster.host(1) + " (rank 0), " + cluster.host(2) + " (rank 1), " +
                            cluster.host(3) + " (rank 2)";
  EXPECT_NE(r3.output.find(hosts), std::string::npos) << "expected '" << hosts << "' in\n" << r3.output;
  const TrainingState s1 = read_checkpoint(local.file("step-30.ckpt"));
  const TrainingState s3 = read_checkpoint(spread.file("step-30.ckpt"));
  EXPECT_EQ(s3.world_size, 3);
  EXPECT_TRUE(same_bits(s1.parameters, s3.parameters)) << "parameters after 30 steps differ";
  // The gradients crossed the simulated links: each step a rank sends at least its own sums.
  const long long expected = 30LL * static_cast<long long>(s3.parameters.size() * sizeof(float));
  EXPECT_GE(cluster.bytes_sent(2) - sent_before, expected) << "bytes host 2 sent over its link";
}

// Through convoy-link-switch (cluster.sh --delay): every frame held 200 us and sent at 1 Gbit/s,
// 64 KiB offload frames included. The bits do not change with the link.
TEST_F(ClusterTrain, ThreeHostsOnSlowLinksTrainTheBitsOfThreeLocalRanks) {
  SimulatedCluster cluster(3, "--rate 1gbit --delay 200us");
  TempDir local, spread;
  const std::string steps = "--epochs 2 --stop-after 30";
  const CommandResult r1 = run_command(local_mpirun() + train(local.path(), steps));
  ASSERT_EQ(r1.exit_code, 3) << r1.output;
  const CommandResult r3 = run_command(bounded(on(cluster, "-np 3") + train(spread.path(), steps)));
  ASSERT_EQ(r3.exit_code, 3) << r3.output;
  EXPECT_TRUE(same_bits(read_checkpoint(local.file("step-30.ckpt")).parameters,
                        read_checkpoint(spread.file("step-30.ckpt")).parameters))
      << "parameters after 30 steps differ";
}

TEST_F(ClusterTrain, ARankKilledOnOneHostEndsTheJobAndTheOtherHostsResume) {
  SimulatedCluster cluster(3);
  TempDir ckpt;
  const InterruptedRun run = run_and_interrupt(
      bounded(on(cluster, "-np 3") + train(ckpt.path(), "--epochs 200 --checkpoint-every 10")), ckpt.path(), [&] {
        run_command("for p in $(ip netns pids " + cluster.host(3) +
                    "); do [ \"$(cat /proc/$p/comm)\" = convoy ] && kill -9 $p; done");
      });
  const CommandResult& r = run.result;
  ASSERT_TRUE(run.interrupted) << "the job ended before its first checkpoint:\n" << r.output;
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "timed out: the other hosts hung\n" << r.output;
  EXPECT_LT(run.seconds_after_action, 30.0) << r.output;
  EXPECT_NE(r.output.find("on node " + cluster.host(3) + " exited on signal 9"), std::string::npos) << r.output;

  const CommandResult resumed = run_command(bounded(on(cluster, "-np 2 --host " + cluster.host(1) + "," +
                                                                      cluster.host(2)) +
                                                    train(ckpt.path(), "--epochs 3 --resume auto")));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("written by 3 ranks"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("2 hosts: " + cluster.host(1) + " (rank 0), " + cluster.host(2) + " (rank 1)"),
            std::string::npos)
      << resumed.output;
  EXPECT_TRUE(std::filesystem::exists(ckpt.file("step-63.ckpt"))) << resumed.output;
}

TEST_F(ClusterTrain, ACutLinkEndsTheJobAndLeavesNothingRunning) {
  SimulatedCluster cluster(3);
  TempDir ckpt;
  const InterruptedRun run =
      run_and_interrupt(bounded(on(cluster, "-np 3") + train(ckpt.path(), "--epochs 200 --checkpoint-every 10"), 120),
                        ckpt.path(), [&] { run_command("ip link set " + cluster.link(3) + " down"); });
  const CommandResult& r = run.result;
  ASSERT_TRUE(run.interrupted) << "the job ended before its first checkpoint:\n" << r.output;
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "timed out: the job hung after the link was cut\n" << r.output;
  EXPECT_LT(run.seconds_after_action, 60.0) << r.output;
  // The cut-off host's daemon loses mpirun too and ends its rank; give it a few seconds.
  std::string left = cluster.processes();
  for (int i = 0; i < 100 && !left.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = cluster.processes();
  }
  EXPECT_EQ(left, "") << "processes still running on the hosts after the job ended";
}

TEST_F(ClusterTrain, Usr1ToMpirunCheckpointsAndTheResumedRunHasTheBitsOfAnUninterruptedOne) {
  SimulatedCluster cluster(3);
  TempDir once, twice;
  const CommandResult reference = run_command(local_mpirun() + train(once.path(), "--epochs 3"));
  ASSERT_EQ(reference.exit_code, 0) << reference.output;
  const std::string pid_file = twice.file("pid");
  // cluster.sh execs mpirun, so $! is mpirun's pid (timeout's would be timeout's, which USR1 kills).
  const InterruptedRun run = run_and_interrupt(
      bounded("bash -c '" + on(cluster, "-np 3") + train(twice.path(), "--epochs 200 --checkpoint-every 10") +
              " & echo $! > " + pid_file + "; wait $!'"),
      twice.path(), [&] { run_command("kill -USR1 $(cat " + pid_file + ")"); });
  ASSERT_TRUE(run.interrupted) << "the job ended before its first checkpoint:\n" << run.result.output;
  EXPECT_EQ(run.result.exit_code, 3) << run.result.output;
  EXPECT_NE(run.result.output.find("stopped by signal 10"), std::string::npos) << run.result.output;
  const CommandResult resumed =
      run_command(bounded(on(cluster, "-np 3") + train(twice.path(), "--epochs 3 --resume auto")));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resume: " + twice.file("step-")), std::string::npos) << resumed.output;
  EXPECT_TRUE(same_bits(read_checkpoint(once.file("step-63.ckpt")).parameters,
                        read_checkpoint(twice.file("step-63.ckpt")).parameters))
      << "the resumed run's parameters after 63 steps differ from an uninterrupted run's";
}

// A rank that stops without dying leaves the others in a collective: TCP stays up, no error
// comes. The stall watchdog (Note [Stall watchdog], default deadline max(20 s, 10 x compute
// between collectives)) makes them give up, name the operation, and abort the job.
TEST_F(ClusterTrain, ARankFrozenOnOneHostEndsTheJobNamingTheOperation) {
  SimulatedCluster cluster(3);
  TempDir ckpt;
  const InterruptedRun run = run_and_interrupt(
      bounded(on(cluster, "-np 3") + train(ckpt.path(), "--epochs 200 --checkpoint-every 10"), 120), ckpt.path(),
      [&] {
        run_command("for p in $(ip netns pids " + cluster.host(3) +
                    "); do [ \"$(cat /proc/$p/comm)\" = convoy ] && kill -STOP $p; done");
      });
  const CommandResult& r = run.result;
  ASSERT_TRUE(run.interrupted) << "the job ended before its first checkpoint:\n" << r.output;
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "timed out: the job hung with a frozen rank\n" << r.output;
  EXPECT_LT(run.seconds_after_action, 90.0) << r.output;
  const std::regex stalled(
      R"(error on rank \d \()" + cluster.name() +
      R"(-n[12]\): stalled: waited \d+ s in (Ialltoallv|Iallgatherv|Iallreduce|Allreduce|Bcast|Barrier) \()"
      R"(.*, collective \d+ of this rank(, in training step \d+)?, during training \()");
  EXPECT_TRUE(std::regex_search(r.output, stalled)) << "expected a stall message from host 1 or 2 in\n" << r.output;
}

}  // namespace
}  // namespace convoy
