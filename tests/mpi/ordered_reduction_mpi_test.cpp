// Note [Ordered reduction] under real mpirun: 2 and 4 ranks train the bits of one rank.
#include <gtest/gtest.h>

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

const Shape kSample{1, 12, 12};

// keras-cnn in miniature: convolutions with ReLU and max pooling (each fused into its
// convolution, Note [Fused pooling]), then dense layers with ReLU.
ModelSpec relu_cnn() {
  ModelSpec spec;
  spec.name = "relu-cnn";
  spec.input = kSample;
  spec.classes = 4;
  spec.layers = {{"conv2d", "c1", {}, {{"out_channels", 6}, {"kernel", 3}, {"padding", "same"}}},
                 {"relu", "r1", {}, {}},
                 {"max_pool2d", "p1", {}, {{"window", 2}}},
                 {"conv2d", "c2", {}, {{"out_channels", 8}, {"kernel", 3}}},
                 {"relu", "r2", {}, {}},
                 {"max_pool2d", "p2", {}, {{"window", 2}}},
                 {"flatten", "f", {}, {}},
                 {"dense", "d1", {}, {{"units", 24}}},
                 {"relu", "r3", {}, {}},
                 {"dense", "d2", {}, {{"units", 4}}}};
  return spec;
}

// 256 samples, global batch 64: 4 steps an epoch, 8 in all. 64 = 8 groups of 8 samples, so 2
// and 4 ranks hold 4 and 2 whole groups each (Note [Fixed summation tree]); 3 ranks do not.
std::vector<float> train(Communicator& comm, Reduction reduction, int threads, int64_t samples = 256) {
  const TrainerConfig config{
      .epochs = 2, .global_batch = 64, .seed = 17, .threads = threads, .log_every = 1000, .reduction = reduction};
  Model model(relu_cnn(), (config.global_batch + comm.size() - 1) / comm.size(), threads);
  model.initialize(config.seed);
  auto optimizer = make_optimizer({.type = "sgd", .momentum = 0.9f}, model.parameter_count());
  Trainer trainer(model, *optimizer, {.base_lr = 0.05f}, comm, config);
  SyntheticReader data(samples, 4, kSample, 3);
  trainer.synchronize_start(data.info());
  TrainingObserver silent;
  trainer.fit(data, nullptr, silent);
  check_same_on_all_ranks(comm, fnv1a(model.parameters(), model.parameter_count() * sizeof(float)),
                          "parameters at the end");
  return {model.parameters(), model.parameters() + model.parameter_count()};
}

double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double max_diff = 0.0, max_value = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_diff = std::max(max_diff, std::abs(static_cast<double>(a[i]) - b[i]));
    max_value = std::max(max_value, std::abs(static_cast<double>(a[i])));
  }
  return max_diff / max_value;
}

int64_t differing(const std::vector<float>& a, const std::vector<float>& b) {
  int64_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::memcmp(&a[i], &b[i], sizeof(float)) != 0;
  return n;
}

TEST(OrderedReductionMpi, TwoAndFourRanksTrainTheBitsOfOneRank) {
  LocalCommunicator alone;
  const std::vector<float> reference = train(alone, Reduction::ordered, 1);
  const std::vector<float> parallel = train(world(), Reduction::ordered, 1);
  ASSERT_EQ(parallel.size(), reference.size());
  const int ranks = world().size();
  if (ranks == 2 || ranks == 4) {
    EXPECT_EQ(differing(parallel, reference), 0)
        << "of " << reference.size() << " parameters differ from one rank's; relative difference "
        << relative_difference(reference, parallel);
  } else {
    // 64 samples over 3 ranks (22, 21, 21) break the groups: the same model to rounding.
    EXPECT_LT(relative_difference(reference, parallel), 1e-5);
  }
  // Threads never change the bits either.
  EXPECT_EQ(differing(train(world(), Reduction::ordered, 2), parallel), 0);
}

// 257 samples: every epoch ends in a global batch of one sample, so on 2, 3 and 4 ranks all ranks
// but one have nothing to compute in that step and still take part in every collective (no
// hang). The one sample is a partial group of the fixed tree on whichever rank holds it, and
// the empty ranks add zeros, so 2 and 4 ranks keep the bits of one rank.
TEST(OrderedReductionMpi, AStepWithEmptyRanksNeitherHangsNorChangesTheBits) {
  LocalCommunicator alone;
  const std::vector<float> reference = train(alone, Reduction::ordered, 1, 257);
  const std::vector<float> parallel = train(world(), Reduction::ordered, 1, 257);
  ASSERT_EQ(parallel.size(), reference.size());
  const int ranks = world().size();
  if (ranks == 2 || ranks == 4) {
    EXPECT_EQ(differing(parallel, reference), 0)
        << "of " << reference.size() << " parameters differ from one rank's; relative difference "
        << relative_difference(reference, parallel);
  } else {
    EXPECT_LT(relative_difference(reference, parallel), 1e-5);
  }
  // The case is what it claims: the fifth global batch of an epoch leaves this many ranks empty.
  Sampler sampler(257, 64, 17, true, false);
  int empty = 0;
  for (int r = 0; r < ranks; ++r) empty += sampler.rank_slice(0, 4, r, ranks).empty();
  EXPECT_EQ(empty, ranks - 1);
}

TEST(OrderedReductionMpi, MpiReductionTrainsTheSameModelToRounding) {
  LocalCommunicator alone;
  const std::vector<float> reference = train(alone, Reduction::ordered, 1);
  const std::vector<float> parallel = train(world(), Reduction::mpi, 1);
  EXPECT_LT(relative_difference(reference, parallel), 1e-5);
}

}  // namespace
}  // namespace convoy
