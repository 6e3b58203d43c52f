#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <cmath>
#include <cstring>

#include "core/hash.hpp"
#include "distributed/agreement.hpp"
#include "distributed/local_communicator.hpp"
#include "distributed/sampler.hpp"
#include "distributed/trainer.hpp"
#include "tests/distributed/synthetic_reader.hpp"
#include "tests/mpi/mpi_world.hpp"

namespace convoy {
namespace {

using testing::SyntheticReader;
using testing::world;

const Shape kSample{1, 10, 10};

ModelSpec small_cnn() {
  ModelSpec spec;
  spec.name = "small";
  spec.input = kSample;
  spec.classes = 4;
  spec.layers = {{"conv2d", "c1", {}, {{"out_channels", 5}, {"kernel", 3}, {"padding", "same"}}},
                 {"relu", "r1", {}, {}},
                 {"max_pool2d", "p1", {}, {{"window", 2}}},
                 {"flatten", "f", {}, {}},
                 {"dense", "d1", {}, {{"units", 16}}},
                 {"relu", "r2", {}, {}},
                 {"dense", "d2", {}, {{"units", 4}}}};
  return spec;
}

struct Result {
  std::vector<float> parameters;
  std::vector<int64_t> delivered;
  int64_t steps_checked = 0;
};

// 95 samples, global batch 10: the last batch of each epoch has 5, so with 3 or 4 ranks some
// ranks get 1 sample and, with 4, slices are uneven.
Result train(Communicator& comm, const std::string& optimizer, bool check_every_step) {
  const TrainerConfig config{.epochs = 2, .global_batch = 10, .seed = 5, .threads = 1, .checkpoint_every = 1};
  Model model(small_cnn(), (config.global_batch + comm.size() - 1) / comm.size(), 1);
  model.initialize(config.seed);
  auto opt = make_optimizer({.type = optimizer, .momentum = optimizer == "sgd" ? 0.9f : 0.0f}, model.parameter_count());
  Trainer trainer(model, *opt, {.base_lr = optimizer == "sgd" ? 0.05f : 0.005f}, comm, config);
  SyntheticReader data(95, 4, kSample, 2);
  trainer.synchronize_start(data.info());
  Result result;
  if (check_every_step) {
    trainer.set_checkpoint_hook([&](const TrainingCursor&) {
      // Every rank must hold exactly the same parameters after every step.
      check_same_on_all_ranks(comm, fnv1a(model.parameters(), model.parameter_count() * sizeof(float)),
                              "parameters after a step");
      ++result.steps_checked;
    });
  }
  TrainingObserver silent;
  trainer.fit(data, nullptr, silent);
  result.parameters.assign(model.parameters(), model.parameters() + model.parameter_count());
  result.delivered = data.delivered();
  return result;
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double max_diff = 0.0, max_value = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(a[i]) - b[i]));
    max_value = std::max(max_value, std::abs(static_cast<double>(a[i])));
  }
  return max_diff / max_value;
}

TEST(TrainerMpi, MatchesOneRankAndIsIdenticalOnEveryRankAfterEveryStep) {
  for (const std::string optimizer : {"sgd", "adam"}) {
    LocalCommunicator alone;
    const Result reference = train(alone, optimizer, false);
    const Result parallel = train(world(), optimizer, true);
    EXPECT_EQ(parallel.steps_checked, 2 * 10 + 1);  // 10 steps an epoch, and the final call
    EXPECT_LT(relative_difference(reference.parameters, parallel.parameters), 1e-5) << optimizer;
    const Result again = train(world(), optimizer, false);
    EXPECT_EQ(0, std::memcmp(again.parameters.data(), parallel.parameters.data(), again.parameters.size() * sizeof(float)))
        << optimizer << ": the same world size twice must give the same bits";
  }
}

TEST(TrainerMpi, EachRankReadsOnlyItsOwnSamples) {
  Communicator& comm = world();
  const Result r = train(comm, "sgd", false);
  Sampler sampler(95, 10, 5, true, false);
  std::vector<int64_t> expected;
  for (int64_t epoch = 0; epoch < 2; ++epoch)
    for (int64_t b = 0; b < sampler.batches_per_epoch(); ++b)
      for (int64_t i : sampler.rank_slice(epoch, b, comm.rank(), comm.size())) expected.push_back(i);
  EXPECT_EQ(r.delivered, expected);
  int64_t total = static_cast<int64_t>(r.delivered.size());
  comm.allreduce_sum(&total, 1);
  EXPECT_EQ(total, 2 * 95);
}

// A reader that takes `delay` for every batch, as a slow disk or a busy I/O thread would.
class SlowReader final : public BatchReader {
 public:
  SlowReader(BatchReader& inner, std::chrono::milliseconds delay) : inner_(inner), delay_(delay) {}
  const DatasetInfo& info() const override { return inner_.info(); }
  using BatchReader::plan;
  void plan(std::vector<std::vector<int64_t>> batches, int64_t epoch) override {
    inner_.plan(std::move(batches), epoch);
  }
  const Batch& next() override {
    std::this_thread::sleep_for(delay_);
    return inner_.next();
  }

 private:
  BatchReader& inner_;
  std::chrono::milliseconds delay_;
};

class ReportRecorder final : public TrainingObserver {
 public:
  void on_step(const StepReport& r) override { reports.push_back(r); }
  std::vector<StepReport> reports;
};

// Every rank's compute, data wait and gradient wait reach every rank's step report; a rank
// whose batches come 20 ms late is the one named lagging, and the others wait for it in the
// gradient sum.
// 8 steps of `spec`, a report every 4, with the last rank's batches coming 20 ms late.
std::vector<StepReport> reports_with_a_late_last_rank(const ModelSpec& spec) {
  Communicator& comm = world();
  const TrainerConfig config{.epochs = 1, .global_batch = 8 * comm.size(), .seed = 5, .threads = 1, .log_every = 4};
  Model model(spec, 8, 1);
  model.initialize(config.seed);
  auto opt = make_optimizer({.type = "sgd"}, model.parameter_count());
  Trainer trainer(model, *opt, {.base_lr = 0.05f}, comm, config);
  SyntheticReader data(8 * comm.size() * 8, 4, kSample, 2);
  SlowReader slow(data, std::chrono::milliseconds(comm.rank() == comm.size() - 1 ? 20 : 0));
  trainer.synchronize_start(data.info());
  ReportRecorder recorder;
  trainer.fit(slow, nullptr, recorder);
  return recorder.reports;
}

TEST(TrainerMpi, StepReportsCarryEveryRanksTimesAndNameTheLaggingRank) {
  Communicator& comm = world();
  const int last = comm.size() - 1;
  const std::vector<StepReport> reports = reports_with_a_late_last_rank(small_cnn());
  ASSERT_EQ(reports.size(), 2u);
  for (const StepReport& r : reports) {
    ASSERT_EQ(r.ranks.size(), static_cast<size_t>(comm.size()));
    for (int k = 0; k < comm.size(); ++k) {
      EXPECT_GT(r.ranks[k].compute, 0.0) << "rank " << k;
      if (k != last) {
        EXPECT_LT(r.ranks[k].data_wait, 0.04) << "rank " << k;  // 4 batches of nothing
      }
    }
    EXPECT_GE(r.ranks[last].data_wait, 0.08);   // 4 batches of 20 ms
    EXPECT_GE(r.ranks[0].gradient_wait, 0.04);  // rank 0 waits for the last rank's batches
    EXPECT_EQ(lagging_rank(r.ranks), last);
  }
}

// With batch norm the ranks first meet in its statistics, in forward: there the others wait for
// a late rank, and that wait is reported as such, not as their compute.
TEST(TrainerMpi, TheWaitForALateRankInBatchNormSumsIsReportedApart) {
  const int last = world().size() - 1;
  ModelSpec spec = small_cnn();
  spec.layers.insert(spec.layers.begin() + 1, {"batch_norm", "bn1", {}, {}});
  const std::vector<StepReport> reports = reports_with_a_late_last_rank(spec);
  ASSERT_EQ(reports.size(), 2u);
  for (const StepReport& r : reports) {
    EXPECT_GE(r.ranks[0].statistics_wait, 0.04);  // 4 steps, each waiting about 20 ms
    EXPECT_LT(r.ranks[0].compute, 0.04);          // a small model: its compute is well under that
    EXPECT_EQ(lagging_rank(r.ranks), last);
  }
}

}  // namespace
}  // namespace convoy
