#include "distributed/trainer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "core/zoo.hpp"
#include "distributed/local_communicator.hpp"
#include "tests/distributed/synthetic_reader.hpp"

namespace convoy {
namespace {

using testing::SyntheticReader;

const Shape kSample{1, 12, 12};

ModelSpec small_cnn() {
  ModelSpec spec;
  spec.name = "small";
  spec.input = kSample;
  spec.classes = 4;
  spec.layers = {{"conv2d", "c1", {}, {{"out_channels", 4}, {"kernel", 3}}},
                 {"relu", "r1", {}, {}},
                 {"max_pool2d", "p1", {}, {{"window", 2}}},
                 {"flatten", "f", {}, {}},
                 {"dense", "d", {}, {{"units", 4}}}};
  return spec;
}

struct TrainRun {
  std::vector<float> parameters;
  EvalReport eval;
  std::vector<int64_t> delivered;
};

TrainRun train(TrainerConfig config, int64_t size, const std::string& optimizer = "adam") {
  LocalCommunicator comm;
  Model model(small_cnn(), config.global_batch, config.threads);
  model.initialize(config.seed);
  auto opt = make_optimizer({.type = optimizer, .momentum = optimizer == "sgd" ? 0.9f : 0.0f}, model.parameter_count());
  Trainer trainer(model, *opt, {.base_lr = optimizer == "sgd" ? 0.05f : 0.01f}, comm, config);
  SyntheticReader data(size, 4, kSample, 5);
  trainer.synchronize_start(data.info());
  TrainingObserver silent;
  EXPECT_EQ(trainer.fit(data, nullptr, silent), StopReason::finished);
  TrainRun run;
  run.eval = trainer.evaluate(data);
  run.delivered = data.delivered();
  run.parameters.assign(model.parameters(), model.parameters() + model.parameter_count());
  return run;
}

TEST(Trainer, LearnsASeparableProblem) {
  const TrainRun run = train({.epochs = 3, .global_batch = 16, .seed = 1, .threads = 2}, 200);
  EXPECT_GT(run.eval.accuracy, 0.9);
  EXPECT_EQ(run.eval.samples, 200);
}

TEST(Trainer, SameSeedAndThreadsGiveBitwiseIdenticalWeights) {
  for (const std::string opt : {"adam", "sgd"}) {
    const TrainerConfig config{.epochs = 2, .global_batch = 10, .seed = 7, .threads = 2};
    const TrainRun a = train(config, 95, opt), b = train(config, 95, opt);
    ASSERT_EQ(a.parameters.size(), b.parameters.size());
    EXPECT_EQ(0, std::memcmp(a.parameters.data(), b.parameters.data(), a.parameters.size() * sizeof(float))) << opt;
    TrainerConfig other = config;
    other.seed = 8;
    const TrainRun c = train(other, 95, opt);
    EXPECT_NE(0, std::memcmp(a.parameters.data(), c.parameters.data(), a.parameters.size() * sizeof(float))) << opt;
  }
}

// Every kernel partitions its work by output with a static schedule and sums weight gradients
// in groups fixed by the batch (Note [Weight-gradient groups]), so any thread count, more than
// the machine's cores included, trains the same bits: resnet20 (batch norm, residual adds, the
// option-A shortcut, global pooling) and keras-cnn, from 1 to 32 threads.
TEST(Trainer, ThreadCountsFromOneToThirtyTwoTrainTheSameBits) {
  for (const std::string name : {"resnet20", "keras-cnn"}) {
    const Shape input = name == "resnet20" ? Shape{1, 16, 16} : Shape{1, 28, 28};
    std::vector<float> first;
    for (const int threads : {1, 2, 3, 5, 8, 16, 32}) {
      const TrainerConfig config{.epochs = 1, .global_batch = 16, .seed = 11, .threads = threads, .log_every = 1000};
      LocalCommunicator comm;
      Model model(builtin_model(name, input, 4), config.global_batch, threads);
      model.initialize(config.seed);
      auto opt = make_optimizer({.type = "sgd", .momentum = 0.9f}, model.parameter_count());
      Trainer trainer(model, *opt, {.base_lr = 0.05f}, comm, config);
      SyntheticReader data(48, 4, input, 5);
      trainer.synchronize_start(data.info());
      TrainingObserver silent;
      ASSERT_EQ(trainer.fit(data, nullptr, silent), StopReason::finished);
      std::vector<float> state(model.parameters(), model.parameters() + model.parameter_count());
      state.insert(state.end(), model.buffers(), model.buffers() + model.buffer_count());
      if (first.empty()) {
        first = state;
        continue;
      }
      ASSERT_EQ(state.size(), first.size());
      EXPECT_EQ(0, std::memcmp(state.data(), first.data(), state.size() * sizeof(float)))
          << name << ": " << threads << " threads differ from 1";
    }
  }
}

// The lagging rank: compute and data wait together more than 10% over the median rank's.
TEST(Trainer, LaggingRankExceedsTheMedianByTheMargin) {
  EXPECT_EQ(lagging_rank({{1.0, 0.0, 0.5}}), -1);                                                    // one rank
  EXPECT_EQ(lagging_rank({{1.0, 0.0, 0.5}, {1.0, 0.05, 0.5}, {1.0, 0.0, 0.5}}), -1);                 // 5% over
  EXPECT_EQ(lagging_rank({{1.0, 0.0, 0.5}, {1.0, 0.2, 0.0}, {1.0, 0.0, 0.5}}), 1);                   // data wait
  EXPECT_EQ(lagging_rank({{1.3, 0.0, 0.0}, {1.0, 0.0, 0.3}, {1.1, 0.0, 0.2}, {1.0, 0.0, 0.3}}), 0);  // compute
  EXPECT_EQ(lagging_rank({{1.0, 0.0, 0.2}, {1.2, 0.0, 0.0}}), 1);   // of 2, the median is the faster
  EXPECT_EQ(lagging_rank({{0.0, 0.0, 0.0}, {0.0, 0.0, 0.0}}), -1);  // nothing measured
}

// One rank's times in its own step reports: compute, no gradient to wait for.
TEST(Trainer, OneRankReportsItsOwnTimes) {
  LocalCommunicator comm;
  const TrainerConfig config{.epochs = 1, .global_batch = 16, .seed = 2, .threads = 1, .log_every = 2};
  Model model(small_cnn(), config.global_batch, 1);
  model.initialize(config.seed);
  auto opt = make_optimizer({.type = "sgd"}, model.parameter_count());
  Trainer trainer(model, *opt, {.base_lr = 0.05f}, comm, config);
  SyntheticReader data(64, 4, kSample, 5);
  trainer.synchronize_start(data.info());
  class Recorder final : public TrainingObserver {
   public:
    void on_step(const StepReport& r) override { reports.push_back(r); }
    std::vector<StepReport> reports;
  } recorder;
  trainer.fit(data, nullptr, recorder);
  ASSERT_EQ(recorder.reports.size(), 2u);
  for (const StepReport& r : recorder.reports) {
    ASSERT_EQ(r.ranks.size(), 1u);
    EXPECT_GT(r.ranks[0].compute, 0.0);
    EXPECT_GE(r.ranks[0].data_wait, 0.0);
    EXPECT_LT(r.ranks[0].gradient_wait, r.ranks[0].compute);
  }
}

TEST(Trainer, UnevenLastBatchSeesEverySampleOncePerEpoch) {
  // 101 samples in batches of 16: six full batches and one of 5, every epoch.
  const TrainRun run = train({.epochs = 2, .global_batch = 16, .seed = 3, .threads = 1}, 101);
  // delivered holds two epochs of training, then the evaluation pass.
  ASSERT_EQ(run.delivered.size(), 3u * 101u);
  for (int e = 0; e < 3; ++e) {
    std::vector<int64_t> epoch(run.delivered.begin() + e * 101, run.delivered.begin() + (e + 1) * 101);
    std::sort(epoch.begin(), epoch.end());
    for (int64_t i = 0; i < 101; ++i) ASSERT_EQ(epoch[i], i) << "pass " << e;
  }
  // Shuffled: the first epoch's order is not the identity.
  EXPECT_FALSE(std::is_sorted(run.delivered.begin(), run.delivered.begin() + 101));
}

// Plain SGD (no momentum, no decay) that records the rate of every step it is asked to take.
class RecordingSgd final : public Optimizer {
 public:
  explicit RecordingSgd(int64_t n) {
    config_ = OptimizerConfig{.type = "sgd"};
    size_ = n;
  }
  std::vector<float> rates;

 private:
  // Without segments, one call a step over every parameter.
  void update(float* parameters, const float* gradients, float lr, int64_t begin, int64_t end) override {
    rates.push_back(lr);
    for (int64_t i = begin; i < end; ++i) parameters[i] -= lr * gradients[i];
  }
};

class RateObserver final : public TrainingObserver {
 public:
  void on_step(const StepReport& r) override { reported.push_back(r.learning_rate); }
  std::vector<double> reported;
};

// The schedule inside training: every step of epoch e uses base_lr * gamma^(e / step_epochs),
// the last short batch included, and the progress reports say the same rate.
TEST(Trainer, EveryStepUsesTheScheduledRateOfItsEpoch) {
  LocalCommunicator comm;
  Model model(small_cnn(), 10, 1);
  model.initialize(2);
  RecordingSgd opt(model.parameter_count());
  // 35 samples in batches of 10: 4 steps an epoch (the last of 5), 5 epochs.
  Trainer trainer(model, opt, {.base_lr = 0.1f, .step_epochs = 2, .gamma = 0.5f}, comm,
                  {.epochs = 5, .global_batch = 10, .seed = 2, .threads = 1, .log_every = 1});
  SyntheticReader data(35, 4, kSample, 2);
  trainer.synchronize_start(data.info());
  RateObserver observer;
  ASSERT_EQ(trainer.fit(data, nullptr, observer), StopReason::finished);
  const float per_epoch[] = {0.1f, 0.1f, 0.05f, 0.05f, 0.025f};
  ASSERT_EQ(opt.rates.size(), 20u);
  for (size_t i = 0; i < opt.rates.size(); ++i) EXPECT_EQ(opt.rates[i], per_epoch[i / 4]) << "step " << i;
  ASSERT_EQ(observer.reported.size(), 20u);
  for (size_t i = 0; i < observer.reported.size(); ++i)
    EXPECT_EQ(observer.reported[i], per_epoch[i / 4]) << "reported at step " << i;
}

TEST(Trainer, StopsWithAClearErrorWhenTheLossDiverges) {
  LocalCommunicator comm;
  Model model(small_cnn(), 8, 1);
  model.initialize(1);
  auto opt = make_optimizer({.type = "sgd"}, model.parameter_count());
  Trainer trainer(model, *opt, {.base_lr = 1e30f}, comm, {.epochs = 3, .global_batch = 8, .log_every = 2});
  SyntheticReader data(64, 4, kSample, 1);
  TrainingObserver silent;
  try {
    trainer.fit(data, nullptr, silent);
    FAIL() << "a learning rate of 1e30 trained without complaint";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("training diverged"), std::string::npos) << e.what();
  }
}

// Between logged steps too: no checkpoint is ever asked for from a diverged state.
TEST(Trainer, NonFiniteLossStopsOnTheStepItHappens) {
  LocalCommunicator comm;
  Model model(small_cnn(), 8, 1);
  model.initialize(1);
  auto opt = make_optimizer({.type = "sgd"}, model.parameter_count());
  Trainer trainer(model, *opt, {.base_lr = 1e30f}, comm,
                  {.epochs = 3, .global_batch = 8, .log_every = 1000, .checkpoint_every = 1});
  int checkpoints = 0;
  trainer.set_checkpoint_hook([&](const TrainingCursor&) {
    ++checkpoints;
    EXPECT_TRUE(std::all_of(model.parameters(), model.parameters() + model.parameter_count(),
                            [](float p) { return std::isfinite(p); }))
        << "checkpoint asked for at step " << trainer.cursor().global_step << " with non-finite parameters";
  });
  SyntheticReader data(64, 4, kSample, 1);
  TrainingObserver silent;
  try {
    trainer.fit(data, nullptr, silent);
    FAIL() << "a learning rate of 1e30 trained without complaint";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("training diverged: the loss on rank 0 is not finite"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(trainer.cursor().global_step, 8) << "diverged only noticed at the epoch's end";
}

TEST(Trainer, ConfigOutOfRangeIsAConfigErrorNamingTheField) {
  LocalCommunicator comm;
  Model model(small_cnn(), 8, 1);
  auto opt = make_optimizer({.type = "adam"}, model.parameter_count());
  const auto message = [&](const TrainerConfig& config) {
    try {
      Trainer trainer(model, *opt, {}, comm, config);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message({.global_batch = 8, .log_every = 0}), "trainer config: log_every is 0, expected >= 1");
  EXPECT_EQ(message({.global_batch = 8, .threads = 0}), "trainer config: threads is 0, expected >= 1");
  EXPECT_EQ(message({.global_batch = 8, .bucket_bytes = 0}), "trainer config: bucket_bytes is 0, expected >= 1");
  EXPECT_EQ(message({.global_batch = 8, .eval_batch = -1}), "trainer config: eval_batch is -1, expected >= 1");
  EXPECT_EQ(message({.global_batch = 8, .stop_after = -2}), "trainer config: stop_after is -2, expected >= 0");
  EXPECT_EQ(message({.global_batch = 8}), "accepted");
}

TEST(Trainer, RejectsBatchSizesThatCannotWork) {
  LocalCommunicator comm;
  Model model(small_cnn(), 8, 1);
  auto opt = make_optimizer({.type = "adam"}, model.parameter_count());
  EXPECT_THROW(Trainer(model, *opt, {}, comm, {.global_batch = 0}), ConfigError);
  EXPECT_THROW(Trainer(model, *opt, {.base_lr = -1.0f}, comm, {.global_batch = 8}), ConfigError);
  Trainer trainer(model, *opt, {}, comm, {.global_batch = 8});
  SyntheticReader tiny(5, 4, kSample, 1);
  TrainingObserver silent;
  try {
    trainer.fit(tiny, nullptr, silent);
    FAIL() << "batch 8 over 5 samples was accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("larger than the training set"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace convoy
