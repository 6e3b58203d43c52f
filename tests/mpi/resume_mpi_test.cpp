// Resuming under several ranks: what rank 0 alone reads and refuses is an error on every rank.
#include <gtest/gtest.h>

#include <string>

#include "apps/checkpointing.hpp"
#include "core/error.hpp"
#include "core/optimizer.hpp"
#include "tests/mpi/mpi_world.hpp"

namespace convoy {
namespace {

using testing::world;

ModelSpec tiny_model() {
  ModelSpec spec;
  spec.name = "tiny";
  spec.input = Shape{1, 4, 4};
  spec.classes = 2;
  spec.layers = {{"flatten", "f", {}, {}}, {"dense", "d", {}, {{"units", 2}}}};
  return spec;
}

// Only rank 0 reads the checkpoint; before the refusal went through the all-ranks path the
// other ranks waited in the broadcast of its outcome, and this test hung.
TEST(ResumeMpi, MissingCheckpointOnRankZeroFailsEveryRank) {
  Communicator& comm = world();
  Model model(tiny_model(), 4, 1);
  auto optimizer = make_optimizer({.type = "sgd"}, model.parameter_count());
  DatasetInfo data;
  data.size = 8;
  data.sample = Shape{1, 4, 4};
  data.classes = 2;
  CheckpointRun run;  // no folder: restore() alone is under test
  run.seed = 1;
  run.global_batch = 4;
  CheckpointKeeper keeper(comm, run, model, *optimizer, data);
  std::vector<std::string> history;
  std::string schedule_json;
  const std::string missing = "/nonexistent/convoy-resume-test/step-5.ckpt";
  try {
    keeper.restore(missing, history, schedule_json);
    FAIL() << "rank " << comm.rank() << " did not throw";
  } catch (const IoError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(missing), std::string::npos) << message;
    if (comm.rank() != 0) {
      EXPECT_NE(message.find("failed while reading the checkpoint to resume from"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace convoy
