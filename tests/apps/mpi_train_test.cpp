// convoy train under real mpirun: same model as one rank, elastic resume, a failing rank.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <cstring>
#include <fstream>
#include <regex>
#include <thread>

#include "io/checkpoint.hpp"
#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/mpirun.hpp"
#include "tests/apps/run_command.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

using testing::mpirun;

class MpiTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::write_fashion_mnist_h5("train", 1000, dir_->file("train.h5"));
    std::ofstream(dir_->file("smooth.json")) << R"({"name": "smooth", "input": [1, 28, 28], "classes": 10, "layers": [
      {"type": "conv2d", "name": "c1", "options": {"out_channels": 6, "kernel": 5, "padding": 2}},
      {"type": "avg_pool2d", "name": "p1", "options": {"window": 2}},
      {"type": "conv2d", "name": "c2", "options": {"out_channels": 16, "kernel": 5}},
      {"type": "avg_pool2d", "name": "p2", "options": {"window": 2}},
      {"type": "flatten", "name": "f"},
      {"type": "dense", "name": "d1", "options": {"units": 32}},
      {"type": "dense", "name": "d2", "options": {"units": 10}}]})";
  }
  static void TearDownTestSuite() { delete dir_; }

  // 1000 samples, global batch 48: 20 full steps and one of 40 an epoch, 42 in two. The model
  // is smooth (average pooling, no ReLU): with P ranks float sums run in another order and
  // differ in the last bits, and on a ReLU network SGD amplifies that whenever a
  // pre-activation near 0 changes sign (measured with lenet5: 2e-7 after 10 steps, then jumps
  // to 1e-3 and more), so there P ranks agree with one rank in test accuracy over a run, not
  // to 1e-5 in weights. Without kinks the rounding differences stay at rounding size.
  static std::string train(const std::string& checkpoints, const std::string& extra = "") {
    return std::string(CONVOY_BINARY) + " train --data " + dir_->file("train.h5") + " --model " +
           dir_->file("smooth.json") +
           " --epochs 2 --batch 48 --optimizer sgd --momentum 0.9 --lr 0.005 --threads 1 --seed 8"
           " --progress lines --checkpoint-dir " + checkpoints + " " + extra;
  }

  static TempDir* dir_;
};

TempDir* MpiTrain::dir_ = nullptr;

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::abs(static_cast<double>(a[i])));
  }
  return diff / scale;
}

TEST_F(MpiTrain, TwoAndThreeRanksTrainTheSameModelAsOne) {
  TempDir one, two, three;
  const CommandResult r1 = run_command(train(one.path()));
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  const CommandResult r2 = run_command(mpirun(2) + train(two.path()));
  ASSERT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_NE(r2.output.find("over 2 ranks"), std::string::npos) << r2.output;
  const CommandResult r3 = run_command(mpirun(3) + train(three.path()));
  ASSERT_EQ(r3.exit_code, 0) << r3.output;
  const TrainingState s1 = read_checkpoint(one.file("step-42.ckpt"));
  const TrainingState s2 = read_checkpoint(two.file("step-42.ckpt"));
  const TrainingState s3 = read_checkpoint(three.file("step-42.ckpt"));
  EXPECT_EQ(s2.world_size, 2);
  EXPECT_LT(relative_difference(s1.parameters, s2.parameters), 1e-5);
  EXPECT_LT(relative_difference(s1.parameters, s3.parameters), 1e-5);
}

// keras-cnn (ReLU, max pooling), global batch 64 = 8 groups of 8 samples, 10 steps (all full
// batches): with the ordered reduction 2 ranks hold 4 whole groups each and give the bits of
// one rank (Note [Fixed summation tree]); MPI's all-reduce gives the same model to rounding.
// The 48-sample batches above split into 3 groups a rank, so there the sums differ in rounding.
TEST_F(MpiTrain, OrderedReductionOnTwoRanksGivesTheBitsOfOneRank) {
  TempDir one, ordered, mpi;
  const auto keras_cnn = [](const std::string& checkpoints, const std::string& extra) {
    return std::string(CONVOY_BINARY) + " train --data " + dir_->file("train.h5") +
           " --model keras-cnn --epochs 1 --batch 64 --optimizer sgd --momentum 0.9 --lr 0.01 --threads 1 --seed 3"
           " --progress lines --stop-after 10 --checkpoint-dir " + checkpoints + " " + extra;
  };
  const CommandResult r1 = run_command(keras_cnn(one.path(), ""));
  ASSERT_EQ(r1.exit_code, 3) << r1.output;
  const CommandResult r2 = run_command(mpirun(2) + keras_cnn(ordered.path(), ""));
  ASSERT_EQ(r2.exit_code, 3) << r2.output;
  EXPECT_NE(r2.output.find("over 2 ranks, ordered reduction"), std::string::npos) << r2.output;
  const CommandResult r3 = run_command(mpirun(2) + keras_cnn(mpi.path(), "--reduction mpi"));
  ASSERT_EQ(r3.exit_code, 3) << r3.output;
  EXPECT_NE(r3.output.find("over 2 ranks, mpi reduction"), std::string::npos) << r3.output;
  const TrainingState s1 = read_checkpoint(one.file("step-10.ckpt"));
  const TrainingState s2 = read_checkpoint(ordered.file("step-10.ckpt"));
  const TrainingState s3 = read_checkpoint(mpi.file("step-10.ckpt"));
  ASSERT_EQ(s1.parameters.size(), s2.parameters.size());
  EXPECT_EQ(0, std::memcmp(s1.parameters.data(), s2.parameters.data(), s1.parameters.size() * sizeof(float)))
      << "relative difference " << relative_difference(s1.parameters, s2.parameters);
  EXPECT_LT(relative_difference(s1.parameters, s3.parameters), 1e-5);
  const CommandResult bad = run_command(keras_cnn(mpi.path(), "--reduction ring"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--reduction: expected ordered or mpi, found 'ring'"), std::string::npos) << bad.output;
}

// Note [Augmentation]: each sample's flip and crop come from (seed, epoch, global index), so
// 1, 2 and 4 ranks (16 samples each = 2 whole groups of 8) augment and normalise the same
// samples the same way and train the same bits, as without augmentation above.
TEST_F(MpiTrain, AugmentedAndNormalisedTrainingGivesTheBitsOfOneRankOnTwoAndFour) {
  TempDir one, two, four;
  const auto augmented = [](const std::string& checkpoints) {
    return std::string(CONVOY_BINARY) + " train --data " + dir_->file("train.h5") +
           " --model keras-cnn --epochs 1 --batch 64 --optimizer sgd --momentum 0.9 --lr 0.01 --threads 1 --seed 3"
           " --augment flip,crop:4 --normalize --progress lines --stop-after 10 --checkpoint-dir " + checkpoints;
  };
  const CommandResult r1 = run_command(augmented(one.path()));
  ASSERT_EQ(r1.exit_code, 3) << r1.output;
  const CommandResult r2 = run_command(mpirun(2) + augmented(two.path()));
  ASSERT_EQ(r2.exit_code, 3) << r2.output;
  const CommandResult r4 = run_command(mpirun(4) + augmented(four.path()));
  ASSERT_EQ(r4.exit_code, 3) << r4.output;
  const TrainingState s1 = read_checkpoint(one.file("step-10.ckpt"));
  for (const TempDir* dir : {&two, &four}) {
    const TrainingState s = read_checkpoint(dir->file("step-10.ckpt"));
    ASSERT_EQ(s1.parameters.size(), s.parameters.size());
    EXPECT_EQ(0, std::memcmp(s1.parameters.data(), s.parameters.data(), s1.parameters.size() * sizeof(float)))
        << s.world_size << " ranks: relative difference " << relative_difference(s1.parameters, s.parameters);
  }
}

// convoy eval over 1001 samples (7 x 11 x 13: no rank count from 2 to 4 divides it) prints the
// same figures on 1, 2, 3 and 4 ranks, and those of the training run's own final test pass over
// the same file; a shard that dropped the last size % P samples would print fewer samples.
TEST_F(MpiTrain, EvalOnOneToFourRanksPrintsTheSameFiguresOverAnUndividedDataset) {
  TempDir dir;
  testing::write_fashion_mnist_h5("t10k", 1001, dir.file("test.h5"));
  const CommandResult trained =
      run_command(train(dir.path(), "--epochs 1 --test " + dir.file("test.h5")));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const std::regex figures(R"(test: loss=[0-9.]+ accuracy=[0-9.]+% samples=[0-9]+)");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(trained.output, m, figures)) << trained.output;
  const std::string expected = m.str();
  EXPECT_NE(expected.find("samples=1001"), std::string::npos) << expected;
  const std::string eval = std::string(CONVOY_BINARY) + " eval --checkpoint " + dir.file("step-21.ckpt") +
                           " --data " + dir.file("test.h5") + " --threads 1 --batch 48";
  for (int ranks = 1; ranks <= 4; ++ranks) {
    const CommandResult r = run_command(ranks == 1 ? eval : mpirun(ranks) + eval);
    ASSERT_EQ(r.exit_code, 0) << ranks << " ranks: " << r.output;
    ASSERT_TRUE(std::regex_search(r.output, m, figures)) << ranks << " ranks: " << r.output;
    EXPECT_EQ(m.str(), expected) << ranks << " ranks";
    // Only rank 0 prints.
    EXPECT_EQ(r.output.find("test:", m.position() + 1), std::string::npos) << ranks << " ranks: " << r.output;
  }
}

TEST_F(MpiTrain, CheckpointOfTwoRanksResumesOnOneAndOnFour) {
  TempDir reference, elastic1, elastic4;
  ASSERT_EQ(run_command(train(reference.path())).exit_code, 0);
  for (auto* dir : {&elastic1, &elastic4}) {
    const CommandResult stopped = run_command(mpirun(2) + train(dir->path(), "--stop-after 13"));
    ASSERT_EQ(stopped.exit_code, 3) << stopped.output;
  }
  const CommandResult on_one = run_command(train(elastic1.path(), "--resume auto"));
  ASSERT_EQ(on_one.exit_code, 0) << on_one.output;
  EXPECT_NE(on_one.output.find("written by 2 ranks"), std::string::npos) << on_one.output;
  const CommandResult on_four = run_command(mpirun(4) + train(elastic4.path(), "--resume auto"));
  ASSERT_EQ(on_four.exit_code, 0) << on_four.output;
  const TrainingState ref = read_checkpoint(reference.file("step-42.ckpt"));
  EXPECT_LT(relative_difference(ref.parameters, read_checkpoint(elastic1.file("step-42.ckpt")).parameters), 1e-5);
  EXPECT_LT(relative_difference(ref.parameters, read_checkpoint(elastic4.file("step-42.ckpt")).parameters), 1e-5);
}

TEST_F(MpiTrain, SigtermToMpirunCheckpointsAndResumingGivesTheSameResult) {
  // 200 epochs (about 5 s): with 40 the run once ended before the signal had reached the ranks.
  TempDir once, twice;
  const std::string run = mpirun(2) + train(once.path(), "--epochs 200");
  ASSERT_EQ(run_command(run).exit_code, 0);
  const std::string pid_file = twice.file("pid");
  std::thread terminator([&] {
    for (int i = 0; i < 2000 && !std::filesystem::exists(twice.file("step-21.ckpt")); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    run_command("kill -TERM $(cat " + pid_file + ")");
  });
  // The first epoch's end writes step-21 (--checkpoint-every 21); SIGTERM then reaches mpirun,
  // which passes it to the ranks before its grace period ends.
  const CommandResult stopped = run_command("(" + mpirun(2) + train(twice.path(), "--epochs 200 --checkpoint-every 21") +
                                            " & echo $! > " + pid_file + "; wait $!)");
  terminator.join();
  EXPECT_NE(stopped.exit_code, 0) << stopped.output;
  EXPECT_NE(stopped.output.find("stopped by signal 15 (SIGTERM) on rank"), std::string::npos) << stopped.output;
  const CommandResult resumed = run_command(mpirun(2) + train(twice.path(), "--epochs 200 --resume auto"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const TrainingState a = read_checkpoint(once.file("step-4200.ckpt")), b = read_checkpoint(twice.file("step-4200.ckpt"));
  EXPECT_EQ(0, std::memcmp(a.parameters.data(), b.parameters.data(), a.parameters.size() * sizeof(float)));
}

TEST_F(MpiTrain, ARankKilledOutrightEndsTheJob) {
  TempDir ckpt;
  const std::string marker = ckpt.file("killme");  // names this job's processes for pgrep
  std::thread killer([&] {
    for (int i = 0; i < 2000 && !std::filesystem::exists(ckpt.file("step-21.ckpt")); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    // One rank of this job: a process named convoy whose command line holds the marker.
    run_command("for p in $(pgrep -x convoy); do if grep -q killme /proc/$p/cmdline && grep -q '" + ckpt.path() +
                "' /proc/$p/cmdline; then kill -9 $p; break; fi; done");
  });
  const CommandResult r = run_command("timeout 60 " + mpirun(2) +
                                      train(ckpt.path(), "--epochs 200 --checkpoint-every 21 --metrics " + marker));
  killer.join();
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "timed out: the other rank hung\n" << r.output;
  // mpirun ended the job, not the stall watchdog after 20 s (no wall-time bound: a busy machine
  // can be slow, but only the watchdog says "stalled").
  EXPECT_EQ(r.output.find("stalled"), std::string::npos) << r.output;
}

TEST_F(MpiTrain, AFailingRankStopsEveryRankWithItsMessage) {
  TempDir ckpt;
  // Rank 1 cannot open its data (the same relative path, from a folder without it); rank 0
  // could, and would wait forever in the first collective.
  TempDir elsewhere;
  const std::string args = std::string(CONVOY_BINARY) + " train --data train.h5 --model lenet5 --epochs 1 --batch 48"
                           " --threads 1 --progress lines";
  const std::string cmd = std::string(CONVOY_MPIEXEC) + " --oversubscribe --allow-run-as-root -np 1 sh -c 'cd " +
                          dir_->path() + " && exec " + args + "' : -np 1 sh -c 'cd " + elsewhere.path() + " && exec " +
                          args + "'";
  const CommandResult r = run_command("timeout 60 " + cmd);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.exit_code, 124) << "timed out: a rank hung\n" << r.output;
  EXPECT_EQ(r.output.find("stalled"), std::string::npos) << "ended by the stall watchdog, not MPI_Abort\n" << r.output;
  EXPECT_NE(r.output.find("error on rank 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("HDF5 dataset 'train.h5': file not found"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace convoy
