// evaluate() under real mpirun: over a dataset no rank count divides, every sample is evaluated
// exactly once, and the sample count, loss and accuracy are those of one rank.
#include <gtest/gtest.h>

#include <vector>

#include "distributed/evaluate.hpp"
#include "distributed/local_communicator.hpp"
#include "tests/distributed/synthetic_reader.hpp"
#include "tests/mpi/mpi_world.hpp"

namespace convoy {
namespace {

using testing::SyntheticReader;
using testing::world;

const Shape kSample{1, 8, 8};

ModelSpec small_cnn() {
  ModelSpec spec;
  spec.name = "small";
  spec.input = kSample;
  spec.classes = 3;
  spec.layers = {{"conv2d", "c1", {}, {{"out_channels", 4}, {"kernel", 3}, {"padding", "same"}}},
                 {"relu", "r1", {}, {}},
                 {"max_pool2d", "p1", {}, {{"window", 2}}},
                 {"flatten", "f", {}, {}},
                 {"dense", "d", {}, {{"units", 3}}}};
  return spec;
}

// 103 samples (a prime: 2, 3 and 4 ranks all leave a remainder), batches of at most 8, so
// every rank's shard ends in a short batch.
TEST(EvaluateMpi, EverySampleOnceAndTheFiguresOfOneRank) {
  constexpr int64_t kSize = 103;
  Model model(small_cnn(), 8, 1);
  model.initialize(11);
  SyntheticReader alone_data(kSize, 3, kSample, 4);
  LocalCommunicator alone;
  const EvalReport reference = evaluate(model, alone_data, alone, 1, 8);
  ASSERT_EQ(reference.samples, kSize);

  SyntheticReader data(kSize, 3, kSample, 4);
  const EvalReport sharded = evaluate(model, data, world(), 1, 8);
  EXPECT_EQ(sharded.samples, kSize);
  // The correct count is an integer, summed exactly; the loss sum only in another order.
  EXPECT_EQ(sharded.accuracy, reference.accuracy);
  EXPECT_NEAR(sharded.loss, reference.loss, 1e-12 * reference.loss);

  std::vector<double> seen(kSize, 0.0);
  for (int64_t i : data.delivered()) seen[i] += 1.0;
  world().allreduce_sum(seen.data(), kSize);
  for (int64_t i = 0; i < kSize; ++i) EXPECT_EQ(seen[i], 1.0) << "sample " << i;
}

}  // namespace
}  // namespace convoy
