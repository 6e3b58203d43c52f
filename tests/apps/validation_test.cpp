// --val, early stopping, best.ckpt and the learning-rate schedules end to end: what the metrics
// say, when a run stops, and that a resumed run decides and steps exactly as an uninterrupted one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <set>

#include <nlohmann/json.hpp>

#include "io/checkpoint.hpp"
#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/mpirun.hpp"
#include "tests/apps/run_command.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

class Validation : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::write_fashion_mnist_h5("train", 600, dir_->file("train.h5"));
    testing::write_fashion_mnist_h5("t10k", 200, dir_->file("val.h5"));
  }
  static void TearDownTestSuite() { delete dir_; }

  // 600 samples, batch 50: 12 steps an epoch.
  static std::string train(const std::string& checkpoints, const std::string& extra) {
    return std::string(CONVOY_BINARY) + " train --data " + dir_->file("train.h5") +
           " --model lenet5 --batch 50 --optimizer sgd --momentum 0.9 --lr 0.05 --threads 1 --seed 6"
           " --progress lines --checkpoint-dir " +
           checkpoints + " " + extra;
  }
  static std::string val() { return " --val " + dir_->file("val.h5") + " "; }

  static TempDir* dir_;
};

TempDir* Validation::dir_ = nullptr;

// The metrics file's lines of one type ("epoch", "step").
std::vector<nlohmann::json> metrics(const std::string& path, const std::string& type) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.at("type") == type) lines.push_back(j);
  }
  return lines;
}

std::vector<double> rates(const std::vector<nlohmann::json>& lines) {
  std::vector<double> lr;
  for (const auto& j : lines) lr.push_back(j.at("lr").get<double>());
  return lr;
}

void expect_same_parameters(const TrainingState& a, const TrainingState& b, const std::string& what) {
  ASSERT_EQ(a.parameters.size(), b.parameters.size()) << what;
  EXPECT_EQ(0, std::memcmp(a.parameters.data(), b.parameters.data(), a.parameters.size() * sizeof(float)))
      << what << ": parameters differ";
  EXPECT_EQ(a.step, b.step) << what;
}

void expect_rates(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-7 * want[i]) << what << " " << i;
}

TEST_F(Validation, EveryEpochLogsValidationAndBestCkptHoldsTheBestEpoch) {
  TempDir run;
  const CommandResult r =
      run_command(train(run.path(), val() + "--epochs 4 --keep 1 --metrics " + run.file("m.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto epochs = metrics(run.file("m.jsonl"), "epoch");
  ASSERT_EQ(epochs.size(), 4u);
  size_t best = 0;
  for (size_t e = 0; e < epochs.size(); ++e) {
    ASSERT_TRUE(epochs[e].contains("val_loss") && epochs[e].contains("val_accuracy")) << epochs[e];
    if (epochs[e].at("val_loss").get<double>() < epochs[best].at("val_loss").get<double>()) best = e;
  }
  // --keep 1 prunes the step checkpoints but never best.ckpt (.convoy.lock: Note [Run folder lock]).
  std::set<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(run.path())) files.insert(f.path().filename().string());
  EXPECT_EQ(files, (std::set<std::string>{".convoy.lock", "best.ckpt", "step-48.ckpt", "m.jsonl"}));
  const TrainingState state = read_checkpoint(run.file("best.ckpt"));
  EXPECT_EQ(state.step, 12 * static_cast<int64_t>(best + 1));
  // Evaluating best.ckpt on --val gives that epoch's logged val_loss.
  const CommandResult e = run_command(std::string(CONVOY_BINARY) + " eval --checkpoint " + run.file("best.ckpt") +
                                      " --data " + dir_->file("val.h5") + " --json");
  ASSERT_EQ(e.exit_code, 0) << e.output;
  EXPECT_NEAR(nlohmann::json::parse(e.output).at("loss").get<double>(), epochs[best].at("val_loss").get<double>(),
              1e-6);
  EXPECT_NE(r.output.find("best: " + run.file("best.ckpt")), std::string::npos) << r.output;
}

TEST_F(Validation, EarlyStoppingEndsTheRunAfterPatienceWithExitZero) {
  TempDir once, first;
  // No epoch improves val_loss by more than 5: epoch 1 stays the best, the run ends after epoch 3.
  const CommandResult r = run_command(train(once.path(), val() + "--epochs 10 --early-stop 2 --min-delta 5"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("early stopping: val_loss has not improved by more than 5 for 2 epochs; best "),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("after epoch 1, saved in " + once.file("best.ckpt")), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(once.file("step-36.ckpt"))) << r.output;
  EXPECT_FALSE(std::filesystem::exists(once.file("step-48.ckpt"))) << r.output;
  // best.ckpt is the state after epoch 1: the bits of a one-epoch run.
  ASSERT_EQ(run_command(train(first.path(), "--epochs 1")).exit_code, 0);
  expect_same_parameters(read_checkpoint(first.file("step-12.ckpt")), read_checkpoint(once.file("best.ckpt")),
                         "best.ckpt against a one-epoch run");
}

TEST_F(Validation, EarlyStoppingStateSurvivesResume) {
  TempDir once, twice;
  const std::string args = val() + "--epochs 10 --early-stop 2 --min-delta 5";
  ASSERT_EQ(run_command(train(once.path(), args)).exit_code, 0);
  const CommandResult stopped = run_command(train(twice.path(), args + " --stop-after 30"));
  ASSERT_EQ(stopped.exit_code, 3) << stopped.output;
  // Resumed in epoch 3, it still knows epoch 1 was the best and epoch 2 did not improve.
  const CommandResult resumed = run_command(train(twice.path(), args + " --resume auto"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("after epoch 1, saved in"), std::string::npos) << resumed.output;
  EXPECT_FALSE(std::filesystem::exists(twice.file("step-48.ckpt"))) << resumed.output;
  expect_same_parameters(read_checkpoint(once.file("step-36.ckpt")), read_checkpoint(twice.file("step-36.ckpt")),
                         "resumed early-stopped run");
}

TEST_F(Validation, PlateauLowersTheRateAndResumesBitwise) {
  TempDir once, twice;
  const std::string args = val() + "--epochs 4 --lr-schedule plateau --plateau-patience 1 --min-delta 5 --lr-gamma 0.5";
  const CommandResult r = run_command(train(once.path(), args + " --metrics " + once.file("m.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Epoch 1 sets the best; epochs 2 and 3 do not improve, each lowering the next epoch's rate.
  expect_rates(rates(metrics(once.file("m.jsonl"), "epoch")), {0.05, 0.05, 0.025, 0.0125}, "plateau");
  EXPECT_NE(r.output.find("learning rate reduced on plateau (after epoch 2)"), std::string::npos) << r.output;
  ASSERT_EQ(run_command(train(twice.path(), args + " --stop-after 30")).exit_code, 3);
  const CommandResult resumed = run_command(train(twice.path(), args + " --resume auto"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  expect_same_parameters(read_checkpoint(once.file("step-48.ckpt")), read_checkpoint(twice.file("step-48.ckpt")),
                         "resumed plateau run");
}

TEST_F(Validation, MultiStepCosineAndWarmupTakeTheirRates) {
  TempDir multi, cosine, warm;
  ASSERT_EQ(run_command(
                train(multi.path(), "--epochs 3 --lr-milestones 1,2 --lr-gamma 0.5 --metrics " + multi.file("m.jsonl")))
                .exit_code,
            0);
  expect_rates(rates(metrics(multi.file("m.jsonl"), "epoch")), {0.05, 0.025, 0.0125}, "multistep");
  ASSERT_EQ(run_command(train(cosine.path(), "--epochs 3 --lr-schedule cosine --metrics " + cosine.file("m.jsonl")))
                .exit_code,
            0);
  const double pi = std::numbers::pi;
  expect_rates(rates(metrics(cosine.file("m.jsonl"), "epoch")),
               {0.05, 0.05 * (1 + std::cos(pi / 3)) / 2, 0.05 * (1 + std::cos(2 * pi / 3)) / 2}, "cosine");
  ASSERT_EQ(
      run_command(train(warm.path(), "--epochs 1 --warmup-steps 4 --log-every 1 --metrics " + warm.file("m.jsonl")))
          .exit_code,
      0);
  std::vector<double> steps = rates(metrics(warm.file("m.jsonl"), "step"));
  steps.resize(6);
  expect_rates(steps, {0.0125, 0.025, 0.0375, 0.05, 0.05, 0.05}, "warmup");
}

TEST_F(Validation, ChangedScheduleOrMonitorOnResumeIsRefused) {
  TempDir run;
  ASSERT_EQ(run_command(train(run.path(), val() + "--epochs 3 --lr-schedule cosine --stop-after 5")).exit_code, 3);
  const CommandResult multistep = run_command(train(run.path(), val() + "--epochs 3 --lr-milestones 2 --resume auto"));
  EXPECT_EQ(multistep.exit_code, 1) << multistep.output;
  EXPECT_NE(multistep.output.find("policy: \"cosine\" -> \"multistep\""), std::string::npos) << multistep.output;
  const CommandResult longer = run_command(train(run.path(), val() + "--epochs 5 --lr-schedule cosine --resume auto"));
  EXPECT_EQ(longer.exit_code, 1) << longer.output;
  EXPECT_NE(longer.output.find("cosine_epochs: 3 -> 5"), std::string::npos) << longer.output;
  const CommandResult step = run_command(train(run.path(), val() + "--epochs 3 --resume auto"));
  EXPECT_EQ(step.exit_code, 1) << step.output;
  EXPECT_NE(step.output.find("policy: \"cosine\" -> (none)"), std::string::npos) << step.output;
  const CommandResult early =
      run_command(train(run.path(), val() + "--epochs 3 --lr-schedule cosine --early-stop 4 --resume auto"));
  EXPECT_EQ(early.exit_code, 1) << early.output;
  EXPECT_NE(early.output.find("monitor: (none) -> "), std::string::npos) << early.output;
}

TEST_F(Validation, SettingsThatNeedAnotherAreUsageErrors) {
  const std::string base = std::string(CONVOY_BINARY) + " train --data " + dir_->file("train.h5") + " ";
  const std::pair<const char*, const char*> cases[] = {
      {"--early-stop 3", "--early-stop needs --val"},
      {"--lr-schedule plateau", "--lr-schedule plateau needs --val"},
      {"--lr-schedule cosine --lr-milestones 3", "--lr-milestones are the multistep schedule's"},
      {"--lr-schedule multistep", "--lr-schedule multistep needs --lr-milestones"},
      {"--warmup-steps 3 --warmup-epochs 1", "give one of them"},
      {"--lr-milestones 5,3", "increasing order"},
      {"--reinit fc", "--reinit needs --init-weights"},
      {"--lr-mult fc=x", "--lr-mult 'fc=x': expected LAYER=F"},
      {"--lr-mult fc=2 --freeze fc", "a frozen layer has no learning rate"},
  };
  for (const auto& [args, message] : cases) {
    const CommandResult r = run_command(base + args);
    EXPECT_EQ(r.exit_code, 2) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << args << "\n" << r.output;
  }
}

#ifdef CONVOY_MPIEXEC
// Every rank evaluates its shard of --val and takes the decision from the summed figures: two
// ranks stop at the epoch one rank stops at, with the same message.
TEST_F(Validation, TwoRanksStopEarlyAtTheSameEpochAsOne) {
  TempDir run;
  const CommandResult r =
      run_command(testing::mpirun(2) + train(run.path(), val() + "--epochs 10 --early-stop 2 --min-delta 5 --metrics " +
                                                             run.file("m.jsonl")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("early stopping: val_loss has not improved by more than 5 for 2 epochs; best "),
            std::string::npos)
      << r.output;
  EXPECT_TRUE(std::filesystem::exists(run.file("step-36.ckpt"))) << r.output;
  EXPECT_EQ(metrics(run.file("m.jsonl"), "epoch").size(), 3u);
  EXPECT_EQ(read_checkpoint(run.file("best.ckpt")).step, 12);
}
#endif

}  // namespace
}  // namespace convoy
