// Fine-tuning end to end with weights Convoy exported itself: train on 10 classes, export,
// fine-tune on 3 classes with a new classifier (--reinit), a frozen first convolution
// (--freeze) and a slower second one (--lr-mult).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "io/weights_file.hpp"
#include "tests/apps/fashion_slice.hpp"
#include "tests/apps/idx_files.hpp"
#include "tests/apps/run_command.hpp"

namespace convoy {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::TempDir;

std::string small_net(const std::string& conv2_name) {
  return R"({"name": "small", "layers": [
    {"type": "conv2d", "name": "conv1", "options": {"out_channels": 8, "kernel": 5, "padding": 2}},
    {"type": "relu", "name": "relu1"},
    {"type": "max_pool2d", "name": "pool1", "options": {"window": 2}},
    {"type": "conv2d", "name": ")" + conv2_name + R"(", "options": {"out_channels": 16, "kernel": 3}},
    {"type": "relu", "name": "relu2"},
    {"type": "max_pool2d", "name": "pool2", "options": {"window": 2}},
    {"type": "flatten", "name": "flat"},
    {"type": "dense", "name": "fc1", "options": {"units": 32}},
    {"type": "relu", "name": "relu3"},
    {"type": "dense", "name": "fc", "options": {"units": "classes"}}]})";
}

class FineTune : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto convert = [](const std::string& name, const std::string& class_names) {
      const CommandResult r = run_command(std::string(CONVOY_BINARY) + " convert idx --images " +
                                          dir_->file(name + "-images") + " --labels " + dir_->file(name + "-labels") +
                                          " --class-names '" + class_names + "' -o " + dir_->file(name + ".h5"));
      ASSERT_EQ(r.exit_code, 0) << r.output;
    };
    testing::write_fashion_mnist_slice("train", 1000, dir_->file("ten-images"), dir_->file("ten-labels"));
    convert("ten", "fashion-mnist");
    // T-shirt/top, trouser and pullover only: a 3-class dataset, and a held-out one.
    testing::write_fashion_mnist_slice("train", 3000, dir_->file("three-images"), dir_->file("three-labels"));
    testing::write_fashion_mnist_slice("t10k", 1000, dir_->file("three-test-images"), dir_->file("three-test-labels"));
    for (const char* name : {"three", "three-test"}) {
      testing::filter_idx(dir_->file(std::string(name) + "-images"), dir_->file(std::string(name) + "-labels"),
                          [](uint8_t label) { return label < 3; }, [](uint8_t label) { return label; });
      convert(name, "T-shirt/top,Trouser,Pullover");
    }
    std::ofstream(dir_->file("small.json")) << small_net("conv2");
    std::ofstream(dir_->file("renamed.json")) << small_net("convB");
    const CommandResult trained = run_command(train("ten", "small.json", dir_->path(), "--epochs 1"));
    ASSERT_EQ(trained.exit_code, 0) << trained.output;
    const CommandResult exported = run_command(std::string(CONVOY_BINARY) + " export --checkpoint " +
                                               dir_->file("step-16.ckpt") + " -o " + dir_->file("ten.weights.h5"));
    ASSERT_EQ(exported.exit_code, 0) << exported.output;
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string train(const std::string& data, const std::string& model, const std::string& checkpoints,
                           const std::string& extra) {
    return std::string(CONVOY_BINARY) + " train --data " + dir_->file(data + ".h5") + " --model " + dir_->file(model) +
           " --batch 64 --optimizer sgd --momentum 0.9 --lr 0.05 --weight-decay 1e-3 --threads 2 --seed 5"
           " --progress lines --checkpoint-dir " + checkpoints + " " + extra;
  }

  static TempDir* dir_;
};

TempDir* FineTune::dir_ = nullptr;

std::map<std::string, WeightTensor> by_name(const std::vector<WeightTensor>& tensors) {
  std::map<std::string, WeightTensor> m;
  for (const WeightTensor& t : tensors) m[t.layer + "/" + t.name] = t;
  return m;
}

TEST_F(FineTune, NewClassifierFrozenFirstConvolutionAndSlowerSecond) {
  TempDir run;
  const CommandResult r =
      run_command(train("three", "small.json", run.path(),
                        "--epochs 2 --init-weights " + dir_->file("ten.weights.h5") +
                            " --reinit fc --freeze conv1 --lr-mult conv2=0.5 --test " + dir_->file("three-test.h5")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The 3000 samples hold about 900 of the three classes: the one checkpoint the run kept.
  std::string final_ckpt;
  for (const auto& f : std::filesystem::directory_iterator(run.path())) final_ckpt = f.path().string();
  ASSERT_FALSE(final_ckpt.empty());
  const CommandResult exported =
      run_command(std::string(CONVOY_BINARY) + " export --checkpoint " + final_ckpt + " -o " + run.file("tuned.h5"));
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  auto before = by_name(read_weights_file(dir_->file("ten.weights.h5")));
  auto after = by_name(read_weights_file(run.file("tuned.h5")));
  // Frozen: the same bits after two epochs of SGD with momentum and weight decay.
  EXPECT_EQ(after["conv1/weight"].values, before["conv1/weight"].values);
  EXPECT_EQ(after["conv1/bias"].values, before["conv1/bias"].values);
  EXPECT_NE(after["conv2/weight"].values, before["conv2/weight"].values);
  EXPECT_NE(after["fc1/weight"].values, before["fc1/weight"].values);
  EXPECT_EQ(after["fc/weight"].shape, (std::vector<int64_t>{3, 32}));
  // Fine-tuned, the held-out three classes are told apart far above chance (33%).
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex(R"(test: loss=[0-9.]+ accuracy=([0-9.]+)%)"))) << r.output;
  EXPECT_GE(std::stod(m[1]), 75.0) << r.output;
}

TEST_F(FineTune, LayersThatDoNotMatchTheFileOrDoNotExistAreNamed) {
  TempDir run;
  const std::string weights = " --epochs 0 --init-weights " + dir_->file("ten.weights.h5");
  const std::pair<std::string, std::string> cases[] = {
      // The 10-class classifier does not fit 3 classes unless it is reinitialised.
      {train("three", "small.json", run.path(), weights), "/fc/weight is [10, 32], the model's layer 'fc' needs [3, 32]"},
      {train("three", "renamed.json", run.path(), weights + " --reinit fc"), "no tensor /convB/weight for layer 'convB'"},
      {train("three", "small.json", run.path(), weights + " --reinit fc,head"),
       "--reinit: layer 'head' is not a layer of the model with parameters; those are: conv1, conv2, fc1, fc"},
      {train("three", "small.json", run.path(), weights + " --reinit fc --freeze relu1"),
       "layer 'relu1' has no parameters; the layers with parameters are: conv1, conv2, fc1, fc"},
      {train("three", "small.json", run.path(), weights + " --reinit fc --lr-mult conv9=2"),
       "layer 'conv9' is not in the model 'small'"},
  };
  for (const auto& [cmd, message] : cases) {
    const CommandResult r = run_command(cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd << "\n" << r.output;
    EXPECT_NE(r.output.find(message), std::string::npos) << cmd << "\n" << r.output;
  }
}

TEST_F(FineTune, LayerSettingsAreRecordedAndChangingThemOnResumeIsRefused) {
  TempDir run;
  const std::string args = "--epochs 2 --init-weights " + dir_->file("ten.weights.h5") + " --reinit fc --freeze conv1";
  ASSERT_EQ(run_command(train("three", "small.json", run.path(), args + " --stop-after 3")).exit_code, 3);
  const CommandResult changed =
      run_command(train("three", "small.json", run.path(), args + " --lr-mult conv2=0.5 --resume auto"));
  EXPECT_EQ(changed.exit_code, 1) << changed.output;
  EXPECT_NE(changed.output.find("layer_lr_multipliers: {\"conv1\":0.0} -> {\"conv1\":0.0,\"conv2\":0.5}"),
            std::string::npos)
      << changed.output;
}

}  // namespace
}  // namespace convoy
