// Training a branched model with batch norm and dropout end to end: the same bits on 1, 2 and 4
// ranks (parameters and running statistics), a resume that continues bitwise, and weights that
// go out through convoy export and back in through --init-weights.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "io/checkpoint.hpp"
#include "io/logits_file.hpp"
#include "io/weights_file.hpp"
#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/mpirun.hpp"
#include "tests/apps/run_command.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::mpirun;
using testing::run_command;
using testing::TempDir;

class GraphTraining : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::write_fashion_mnist_h5("train", 640, dir_->file("train.h5"));
    // A small residual net in resnet20's manner, with a dropout before the classifier.
    std::ofstream(dir_->file("net.json")) << R"({"name": "mini-resnet", "layers": [
      {"type": "conv2d", "name": "conv1", "options": {"out_channels": 8, "kernel": 3, "padding": 1, "bias": false}},
      {"type": "batch_norm", "name": "bn1"},
      {"type": "relu", "name": "relu1"},
      {"type": "conv2d", "name": "b.conv1", "options": {"out_channels": 16, "kernel": 3, "stride": 2, "padding": 1, "bias": false}},
      {"type": "batch_norm", "name": "b.bn1"},
      {"type": "relu", "name": "b.relu1"},
      {"type": "conv2d", "name": "b.conv2", "options": {"out_channels": 16, "kernel": 3, "padding": 1, "bias": false}},
      {"type": "batch_norm", "name": "b.bn2"},
      {"type": "pad_shortcut", "name": "b.shortcut", "inputs": ["relu1"], "options": {"out_channels": 16, "stride": 2}},
      {"type": "add", "name": "b.add", "inputs": ["b.bn2", "b.shortcut"]},
      {"type": "relu", "name": "b.relu"},
      {"type": "global_avg_pool2d", "name": "pool"},
      {"type": "dropout", "name": "drop", "options": {"rate": 0.2}},
      {"type": "dense", "name": "fc", "options": {"units": "classes"}}]})";
  }
  static void TearDownTestSuite() { delete dir_; }

  // 640 samples at global batch 64: 10 steps an epoch, 20 in two; 1, 2 and 4 ranks each hold
  // whole power-of-two groups of 8 samples, so the README's bitwise conditions hold.
  static std::string train(const std::string& checkpoints, const std::string& extra = "") {
    return std::string(CONVOY_BINARY) + " train --data " + dir_->file("train.h5") + " --model " +
           dir_->file("net.json") +
           " --epochs 2 --batch 64 --optimizer sgd --momentum 0.9 --lr 0.05 --threads 1 --seed 3"
           " --progress lines --checkpoint-dir " + checkpoints + " " + extra;
  }

  static TempDir* dir_;
};

TempDir* GraphTraining::dir_ = nullptr;

void expect_same_model(const TrainingState& a, const TrainingState& b, const std::string& what) {
  ASSERT_EQ(a.parameters.size(), b.parameters.size()) << what;
  EXPECT_EQ(0, std::memcmp(a.parameters.data(), b.parameters.data(), a.parameters.size() * sizeof(float)))
      << what << ": parameters differ";
  ASSERT_EQ(a.buffers.size(), b.buffers.size()) << what;
  ASSERT_FALSE(a.buffers.empty());
  EXPECT_EQ(0, std::memcmp(a.buffers.data(), b.buffers.data(), a.buffers.size() * sizeof(float)))
      << what << ": running statistics differ";
}

TEST_F(GraphTraining, OneTwoAndFourRanksGiveTheSameBits) {
  TempDir one, two, four;
  const CommandResult r1 = run_command(train(one.path()));
  ASSERT_EQ(r1.exit_code, 0) << r1.output;
  const TrainingState s1 = read_checkpoint(one.file("step-20.ckpt"));
  for (const auto& [ranks, dir] : {std::pair{2, &two}, std::pair{4, &four}}) {
    const CommandResult r = run_command(mpirun(ranks) + train(dir->path()));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_same_model(s1, read_checkpoint(dir->file("step-20.ckpt")), std::to_string(ranks) + " ranks");
  }
}

// The zoo's resnet20 with a dropout before its classifier, 20 steps: 1, 2 and 4 ranks, the same bits.
TEST_F(GraphTraining, Resnet20WithDropoutGivesTheSameBitsOnOneTwoAndFourRanks) {
  std::ifstream zoo(std::string(CONVOY_SOURCE_DIR) + "/core/zoo/resnet20.json");
  std::string spec((std::istreambuf_iterator<char>(zoo)), {});
  const std::string classifier = R"({"type": "dense", "name": "linear")";
  const size_t at = spec.find(classifier);
  ASSERT_NE(at, std::string::npos) << spec;
  spec.insert(at, R"({"type": "dropout", "name": "drop", "options": {"rate": 0.2}},
  )");
  TempDir one;
  std::ofstream(one.file("resnet20-dropout.json")) << spec;
  const std::string model = " --model " + one.file("resnet20-dropout.json");
  ASSERT_EQ(run_command(train(one.path(), model)).exit_code, 0);
  const TrainingState s1 = read_checkpoint(one.file("step-20.ckpt"));
  for (int ranks : {2, 4}) {
    TempDir dir;
    const CommandResult r = run_command(mpirun(ranks) + train(dir.path(), model));
    ASSERT_EQ(r.exit_code, 0) << r.output;
    expect_same_model(s1, read_checkpoint(dir.file("step-20.ckpt")), "resnet20, " + std::to_string(ranks) + " ranks");
  }
}

TEST_F(GraphTraining, StoppedAndResumedEqualsUninterruptedBitwise) {
  TempDir once, twice;
  ASSERT_EQ(run_command(train(once.path())).exit_code, 0);
  const CommandResult first = run_command(train(twice.path(), "--stop-after 7"));
  ASSERT_EQ(first.exit_code, 3) << first.output;
  const CommandResult second = run_command(train(twice.path(), "--resume auto"));
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("resume: "), std::string::npos) << second.output;
  expect_same_model(read_checkpoint(once.file("step-20.ckpt")), read_checkpoint(twice.file("step-20.ckpt")),
                    "resumed at step 7");
}

TEST_F(GraphTraining, ExportedWeightsStartAnotherRun) {
  TempDir run, start;
  ASSERT_EQ(run_command(train(run.path(), "--epochs 1")).exit_code, 0);
  const TrainingState trained = read_checkpoint(run.file("step-10.ckpt"));
  const std::string weights = run.file("weights.h5");
  const CommandResult exported = run_command(std::string(CONVOY_BINARY) + " export --checkpoint " +
                                             run.file("step-10.ckpt") + " -o " + weights);
  ASSERT_EQ(exported.exit_code, 0) << exported.output;

  // PyTorch's layouts: fc.weight is [classes, features]; batch norm keeps its running statistics.
  bool saw_fc = false, saw_running_var = false;
  for (const WeightTensor& t : read_weights_file(weights)) {
    if (t.layer == "fc" && t.name == "weight") saw_fc = t.shape == std::vector<int64_t>{10, 16};
    if (t.layer == "b.bn2" && t.name == "running_var") saw_running_var = t.shape == std::vector<int64_t>{16};
  }
  EXPECT_TRUE(saw_fc);
  EXPECT_TRUE(saw_running_var);

  // --epochs 0 writes the starting state as its final checkpoint: the trained one, to the bit.
  const CommandResult r = run_command(train(start.path(), "--epochs 0 --seed 99 --init-weights " + weights));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const TrainingState started = read_checkpoint(start.file("step-0.ckpt"));
  expect_same_model(trained, started, "after export and --init-weights");

  // A model whose first convolution is narrower is refused, naming the tensor and both shapes.
  std::ofstream(start.file("wide.json")) << R"({"name": "narrow", "layers": [
      {"type": "conv2d", "name": "conv1", "options": {"out_channels": 4, "kernel": 3, "padding": 1, "bias": false}},
      {"type": "global_avg_pool2d", "name": "pool"}, {"type": "dense", "name": "fc", "options": {"units": "classes"}}]})";
  const CommandResult bad = run_command(std::string(CONVOY_BINARY) + " train --data " + dir_->file("train.h5") +
                                        " --model " + start.file("wide.json") + " --epochs 0 --init-weights " + weights);
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("/conv1/weight is [8, 1, 3, 3], the model's layer 'conv1' needs [4, 1, 3, 3]"), std::string::npos)
      << bad.output;
}

struct EvalFigures {
  double loss = 0.0, accuracy = 0.0;  // accuracy in percent
  long long samples = 0;
};

// What convoy eval printed.
EvalFigures printed(const std::string& output) {
  EvalFigures f;
  const size_t at = output.find("test: loss=");
  if (at != std::string::npos)
    std::sscanf(output.c_str() + at, "test: loss=%lf accuracy=%lf%% samples=%lld", &f.loss, &f.accuracy, &f.samples);
  return f;
}

// Softmax cross-entropy and accuracy recomputed from a logits file.
EvalFigures recomputed(const LogitsFile& f) {
  double loss = 0.0;
  int64_t correct = 0;
  for (int64_t i = 0; i < f.samples; ++i) {
    const float* row = f.logits.data() + i * f.classes;
    const int32_t label = f.labels[static_cast<size_t>(i)];
    int64_t best = 0;
    double sum = 0.0;
    for (int64_t c = 0; c < f.classes; ++c) {
      if (row[c] > row[best]) best = c;
      sum += std::exp(static_cast<double>(row[c]) - row[label]);
    }
    loss += std::log(sum);
    correct += best == label;
  }
  return {loss / static_cast<double>(f.samples), 100.0 * static_cast<double>(correct) / static_cast<double>(f.samples),
          static_cast<long long>(f.samples)};
}

void expect_figures(const std::string& output, const LogitsFile& f) {
  const EvalFigures p = printed(output), r = recomputed(f);
  EXPECT_EQ(p.samples, r.samples) << output;
  EXPECT_NEAR(p.loss, r.loss, 6e-5) << output;          // printed with 4 decimals
  EXPECT_NEAR(p.accuracy, r.accuracy, 0.006) << output;  // printed with 2
}

TEST_F(GraphTraining, EvalLogitsHoldEverySampleOnAnyRankCount) {
  TempDir run;
  ASSERT_EQ(run_command(train(run.path(), "--epochs 1")).exit_code, 0);
  // 640 samples over 3 ranks: shards of 213, 213 and 214, so no rank count divides them.
  const std::string eval = std::string(CONVOY_BINARY) + " eval --threads 1 --batch 100 --checkpoint " +
                           run.file("step-10.ckpt") + " --data " + dir_->file("train.h5") + " --logits ";
  const CommandResult one = run_command(eval + run.file("one.h5"));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const LogitsFile a = read_logits_file(run.file("one.h5"));
  ASSERT_EQ(a.samples, 640);
  ASSERT_EQ(a.classes, 10);
  expect_figures(one.output, a);

  const CommandResult three = run_command(mpirun(3) + eval + run.file("three.h5"));
  ASSERT_EQ(three.exit_code, 0) << three.output;
  const LogitsFile b = read_logits_file(run.file("three.h5"));
  ASSERT_EQ(b.samples, 640);
  EXPECT_EQ(a.labels, b.labels);
  for (size_t i = 0; i < a.logits.size(); ++i)
    ASSERT_NEAR(a.logits[i], b.logits[i], 1e-5f * (1.0f + std::fabs(a.logits[i]))) << "logit " << i;
  expect_figures(three.output, b);
}

}  // namespace
}  // namespace convoy
