#include "distributed/gradient_reducer.hpp"

#include <gtest/gtest.h>

#include <exception>
#include <memory>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "distributed/local_communicator.hpp"

namespace convoy {
namespace {

// Records the buckets it is asked to reduce, to check the boundaries and their order.
class RecordingCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 2; }
  std::string host() const override { return "test"; }
  void allreduce_sum(float*, int64_t) override {}
  void allreduce_sum(double*, int64_t) override {}
  void allreduce_sum(int64_t*, int64_t) override {}
  void allreduce_max(int64_t*, int64_t) override {}
  std::unique_ptr<CommRequest> iallreduce_sum(float* data, int64_t count) override {
    started.push_back({data - base, count});
    return std::make_unique<Request>(this);
  }
  void broadcast(void*, int64_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int) noexcept override { std::terminate(); }

  struct Request final : CommRequest {
    explicit Request(RecordingCommunicator* c) : comm(c) {}
    void wait() override { ++comm->waits; }
    bool test() override { return false; }
    RecordingCommunicator* comm;
  };

  const float* base = nullptr;
  std::vector<std::pair<int64_t, int64_t>> started;  // (offset, count)
  int waits = 0;
};

TEST(GradientReducer, BucketsAreCutFromTheEndOnCacheLines) {
  RecordingCommunicator comm;
  std::vector<float> grad(1000);
  comm.base = grad.data();
  GradientReducer reducer(comm, grad.data(), 1000, 256 * sizeof(float));
  // 1000 = 3 * 256 + 232; boundaries at 992 - 256 k, the top bucket taking the 8 past 992.
  ASSERT_EQ(reducer.bucket_count(), 4);
  reducer.begin_step();
  reducer.ready_from(900);  // nothing wholly above 900 yet
  EXPECT_TRUE(comm.started.empty());
  reducer.ready_from(736);
  ASSERT_EQ(comm.started.size(), 1u);
  EXPECT_EQ(comm.started[0], (std::pair<int64_t, int64_t>{736, 264}));
  reducer.ready_from(100);  // two more complete
  ASSERT_EQ(comm.started.size(), 3u);
  EXPECT_EQ(comm.started[1], (std::pair<int64_t, int64_t>{480, 256}));
  EXPECT_EQ(comm.started[2], (std::pair<int64_t, int64_t>{224, 256}));
  reducer.finish();
  ASSERT_EQ(comm.started.size(), 4u);
  EXPECT_EQ(comm.started[3], (std::pair<int64_t, int64_t>{0, 224}));
  EXPECT_EQ(comm.waits, 4);
  for (const auto& [offset, count] : comm.started) EXPECT_EQ(offset % 16, 0) << offset;
  EXPECT_GE(reducer.last_wait_seconds(), 0.0);
  // A second step starts the same buckets again, in the same order.
  reducer.begin_step();
  reducer.finish();
  ASSERT_EQ(comm.started.size(), 8u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(comm.started[4 + i], comm.started[i]);
}

TEST(GradientReducer, OneBucketWhenTheBucketExceedsTheBuffer) {
  RecordingCommunicator comm;
  std::vector<float> grad(37);
  comm.base = grad.data();
  GradientReducer reducer(comm, grad.data(), 37, 1 << 20);
  EXPECT_EQ(reducer.bucket_count(), 1);
  reducer.begin_step();
  reducer.ready_from(1);
  EXPECT_TRUE(comm.started.empty());
  reducer.ready_from(0);
  ASSERT_EQ(comm.started.size(), 1u);
  EXPECT_EQ(comm.started[0], (std::pair<int64_t, int64_t>{0, 37}));
  reducer.finish();
}

TEST(GradientReducer, StepMustFinishBeforeTheNext) {
  RecordingCommunicator comm;
  std::vector<float> grad(100);
  comm.base = grad.data();
  GradientReducer reducer(comm, grad.data(), 100, 64);
  reducer.begin_step();
  reducer.ready_from(50);
  EXPECT_THROW(reducer.begin_step(), InternalError);
  reducer.finish();
  EXPECT_NO_THROW(reducer.begin_step());
  EXPECT_THROW(GradientReducer(comm, grad.data(), 100, 0), ConfigError);
}

TEST(GradientReducer, WorldOfOneLeavesGradientsAlone) {
  LocalCommunicator comm;
  std::vector<float> grad(5000, 0.25f);
  GradientReducer reducer(comm, grad.data(), 5000);
  reducer.begin_step();
  reducer.ready_from(2500);
  reducer.finish();
  EXPECT_EQ(grad, std::vector<float>(5000, 0.25f));
  EXPECT_EQ(reducer.last_wait_seconds(), 0.0);
}

}  // namespace
}  // namespace convoy
