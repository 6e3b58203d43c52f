// convoy train and eval under real mpirun, when the ranks are started differently: every
// disagreement is found at start and ends the job with a message, never a hang.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/mpirun.hpp"
#include "tests/apps/run_command.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

// A job that hangs is ended after 30 s (exit code 124), so a hang fails the test instead of stalling it.
std::string mpirun(int ranks) { return "timeout 30 " + testing::mpirun(ranks); }

class MpiStart : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    for (const char* name : {"train.h5", "other.h5"}) testing::write_fashion_mnist_h5("train", 200, dir_->file(name));
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string train(const std::string& extra = "") {
    return "train --data " + dir_->file("train.h5") +
           " --model lenet5 --epochs 1 --batch 20 --optimizer sgd --lr 0.01 --threads 1 --progress lines " + extra;
  }

  // A wrapper that starts convoy with `extra` appended on rank 1 only (as a site script that
  // adds a flag from the environment might).
  static std::string rank1_adds(const std::string& extra) {
    const std::string wrapper = dir_->file("wrapper.sh");
    std::ofstream(wrapper) << "#!/bin/sh\nif [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then exec " << CONVOY_BINARY
                           << " \"$@\" " << extra << "; fi\nexec " << CONVOY_BINARY << " \"$@\"\n";
    std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
    return wrapper;
  }

  static TempDir* dir_;
};

TempDir* MpiStart::dir_ = nullptr;

struct Mismatch {
  std::string extra_on_rank1;
  std::string expected;  // in the message
};

void expect_refused_quickly(const std::string& cmd, const std::string& expected) {
  const CommandResult r = run_command(cmd);
  EXPECT_NE(r.exit_code, 124) << "timed out: the ranks hung\n" << r.output;
  EXPECT_NE(r.exit_code, 0) << r.output;
  // Refused by the agreement, not ended by the stall watchdog (no wall-time bound: a busy machine
  // can be slow, but only the watchdog says "stalled").
  EXPECT_EQ(r.output.find("stalled"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(expected), std::string::npos) << "expected: " << expected << "\n" << r.output;
  EXPECT_EQ(r.output.find("epoch 1/1"), std::string::npos) << "trained before refusing\n" << r.output;
}

TEST_F(MpiStart, TrainSettingGivenOnOneRankOnlyIsRefusedNamingBothValues) {
  TempDir ckpt;
  const std::vector<Mismatch> cases = {
      {"--stop-after 5", "--stop-after: rank 0 has '0', rank 1 has '5'"},
      // The default --log-every depends on the terminal: 100 for lines, 20 for the bar.
      {"--progress bar", "--log-every: rank 0 has '100', rank 1 has '20'"},
      {"--test " + dir_->file("train.h5"), "--test: rank 0 has '', rank 1 has '" + dir_->file("train.h5") + "'"},
      {"--checkpoint-dir " + ckpt.path(), "--checkpoint-dir: rank 0 has '', rank 1 has '" + ckpt.path() + "'"},
      {"--checkpoint-every 3", "--checkpoint-every: rank 0 has '0', rank 1 has '3'"},
  };
  for (const Mismatch& c : cases) {
    SCOPED_TRACE(c.extra_on_rank1);
    expect_refused_quickly(mpirun(2) + rank1_adds(c.extra_on_rank1) + " " + train(), "ranks disagree on the setting " +
                                                                                         c.expected);
  }
}

TEST_F(MpiStart, EvalWithAnotherCheckpointOrDatasetOnOneRankIsRefused) {
  TempDir ckpt;
  const CommandResult trained =
      run_command(std::string(CONVOY_BINARY) + " " + train("--stop-after 1 --checkpoint-dir " + ckpt.path()));
  ASSERT_EQ(trained.exit_code, 3) << trained.output;
  std::filesystem::copy_file(ckpt.file("step-1.ckpt"), ckpt.file("other.ckpt"));
  const std::string eval = std::string(CONVOY_BINARY) + " eval --threads 1 --batch 50";
  const auto job = [&](const std::string& rank0, const std::string& rank1) {
    return "timeout 30 " + std::string(CONVOY_MPIEXEC) + " --oversubscribe --allow-run-as-root --bind-to none -np 1 " +
           eval + rank0 + " : -np 1 " + eval + rank1;
  };
  const std::string data = " --data " + dir_->file("train.h5"), other_data = " --data " + dir_->file("other.h5");
  const std::string checkpoint = " --checkpoint " + ckpt.file("step-1.ckpt");
  const std::string other_checkpoint = " --checkpoint " + ckpt.file("other.ckpt");
  expect_refused_quickly(job(checkpoint + data, other_checkpoint + data),
                         "--checkpoint: rank 0 has '" + ckpt.file("step-1.ckpt") + "', rank 1 has '" +
                             ckpt.file("other.ckpt") + "'");
  expect_refused_quickly(job(checkpoint + data, checkpoint + other_data),
                         "--data: rank 0 has '" + dir_->file("train.h5") + "', rank 1 has '" + dir_->file("other.h5") +
                             "'");
  const CommandResult same = run_command(job(checkpoint + data, checkpoint + data));
  EXPECT_EQ(same.exit_code, 0) << same.output;
  EXPECT_NE(same.output.find("test: loss="), std::string::npos) << same.output;
}

// A signal that reached one rank only: every rank stops at the same step, and the message
// names the signal and the rank, not --stop-after.
TEST_F(MpiStart, SignalOnOneRankIsReportedWithThatRank) {
  const std::string wrapper = dir_->file("signal-rank1.sh");
  std::ofstream(wrapper) << "#!/bin/sh\nif [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then (sleep 1; kill -USR1 $$) & fi\nexec "
                         << CONVOY_BINARY << " \"$@\"\n";
  std::filesystem::permissions(wrapper, std::filesystem::perms::owner_all);
  const CommandResult r = run_command(mpirun(2) + wrapper + " " + train("--epochs 500"));
  EXPECT_NE(r.exit_code, 124) << "timed out\n" << r.output;
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("stopped by signal 10 (SIGUSR1) on rank 1 at step"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("nothing saved"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace convoy
