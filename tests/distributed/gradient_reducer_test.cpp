#include "distributed/gradient_reducer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "distributed/local_communicator.hpp"

namespace convoy {
namespace {

// Records the buckets it is asked to reduce, to check the boundaries and their order. As rank 0
// of `ranks`, its exchange fills row r > 0 with other_rows[r - 1] (the other ranks' values),
// and its gather fills every segment with the first value of this rank's sum (the other ranks'
// sums are the same when every rank's bucket holds one value).
class RecordingCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return ranks; }
  std::string host() const override { return "test"; }
  void allreduce_sum(float*, int64_t) override {}
  void allreduce_sum(double*, int64_t) override {}
  void allreduce_sum(int64_t*, int64_t) override {}
  void allreduce_max(int64_t*, int64_t) override {}
  std::unique_ptr<CommRequest> iallreduce_sum(float* data, int64_t count) override {
    started.push_back({data - base, count});
    return std::make_unique<Request>(this);
  }
  void allgather(const double* send, int64_t count, double* recv) override { std::copy(send, send + count, recv); }
  std::unique_ptr<CommRequest> iexchange_segments(const float* send, const int* offsets, float* recv) override {
    started.push_back({send - base, offsets[ranks] - offsets[0]});
    log.push_back("x" + std::to_string(send - base));
    const int mine = offsets[1] - offsets[0];
    EXPECT_EQ(offsets[0], 0);
    for (int r = 1; r < ranks; ++r)  // empty segments at the end start at the end
      EXPECT_TRUE(offsets[r] % 16 == 0 || offsets[r] == offsets[ranks]) << "segment " << r << " at " << offsets[r];
    std::copy(send, send + mine, recv);
    for (int r = 1; r < ranks; ++r) std::fill(recv + r * mine, recv + (r + 1) * mine, other_rows.at(r - 1));
    return std::make_unique<Request>(this);
  }
  std::unique_ptr<CommRequest> iallgather_segments(const float* send, const int* offsets, float* recv) override {
    ++gathers;
    log.push_back("g" + std::to_string(recv - base));
    std::fill(recv + offsets[0], recv + offsets[ranks], send[0]);
    return std::make_unique<Request>(this);
  }
  void broadcast(void*, int64_t, int) override {}
  void barrier() override {}
  [[noreturn]] void abort(int) noexcept override { std::terminate(); }

  struct Request final : CommRequest {
    explicit Request(RecordingCommunicator* c) : comm(c) {}
    void wait() override {
      ++comm->waits;
      std::this_thread::sleep_for(comm->wait_time);
    }
    bool test() override { return comm->arrived; }
    RecordingCommunicator* comm;
  };

  int ranks = 2;
  std::vector<float> other_rows = {0.0f};
  int gathers = 0;
  std::vector<std::string> log;  // "x<offset>": an exchange started, "g<offset>": a gather
  const float* base = nullptr;
  std::vector<std::pair<int64_t, int64_t>> started;  // (offset, count)
  int waits = 0;
  std::chrono::milliseconds wait_time{0};  // each wait() takes this long, as a slow link would
  bool arrived = false;                    // what test() says of every request
};

// Both reductions cut and start the same buckets in the same order.
class GradientReducerBuckets : public ::testing::TestWithParam<Reduction> {};

TEST_P(GradientReducerBuckets, BucketsAreCutFromTheEndOnCacheLines) {
  RecordingCommunicator comm;
  std::vector<float> grad(1000);
  comm.base = grad.data();
  GradientReducer reducer(comm, grad.data(), 1000, 256 * sizeof(float), GetParam());
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
  EXPECT_EQ(comm.waits, GetParam() == Reduction::ordered ? 8 : 4);  // ordered: each exchange and each gather
  for (const auto& [offset, count] : comm.started) EXPECT_EQ(offset % 16, 0) << offset;
  EXPECT_GE(reducer.last_wait_seconds(), 0.0);
  // A second step starts the same buckets again, in the same order.
  reducer.begin_step();
  reducer.finish();
  ASSERT_EQ(comm.started.size(), 8u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(comm.started[4 + i], comm.started[i]);
  EXPECT_EQ(comm.gathers, GetParam() == Reduction::ordered ? 8 : 0);
}

TEST_P(GradientReducerBuckets, OneBucketWhenTheBucketExceedsTheBuffer) {
  RecordingCommunicator comm;
  std::vector<float> grad(37);
  comm.base = grad.data();
  GradientReducer reducer(comm, grad.data(), 37, 1 << 20, GetParam());
  EXPECT_EQ(reducer.bucket_count(), 1);
  reducer.begin_step();
  reducer.ready_from(1);
  EXPECT_TRUE(comm.started.empty());
  reducer.ready_from(0);
  ASSERT_EQ(comm.started.size(), 1u);
  EXPECT_EQ(comm.started[0], (std::pair<int64_t, int64_t>{0, 37}));
  reducer.finish();
}

TEST_P(GradientReducerBuckets, StepMustFinishBeforeTheNext) {
  RecordingCommunicator comm;
  std::vector<float> grad(100);
  comm.base = grad.data();
  GradientReducer reducer(comm, grad.data(), 100, 64, GetParam());
  reducer.begin_step();
  reducer.ready_from(50);
  EXPECT_THROW(reducer.begin_step(), InternalError);
  reducer.finish();
  EXPECT_NO_THROW(reducer.begin_step());
  EXPECT_THROW(GradientReducer(comm, grad.data(), 100, 0), ConfigError);
}

INSTANTIATE_TEST_SUITE_P(Reductions, GradientReducerBuckets, ::testing::Values(Reduction::ordered, Reduction::mpi),
                         [](const ::testing::TestParamInfo<Reduction>& info) { return reduction_name(info.param); });

// Note [Ordered reduction]: rows 0..3 hold 1e8, 1, -1e8, 1. The tree gives (1e8 + 1) + (-1e8 + 1)
// = 1e8 - 1e8 = 0 in float (1 is below half of 1e8's spacing); adding in rank order would give 1.
TEST(GradientReducer, OrderedReductionAddsTheRanksInTheTree) {
  RecordingCommunicator comm;
  comm.ranks = 4;
  comm.other_rows = {1.0f, -1e8f, 1.0f};
  std::vector<float> grad(300, 1e8f);
  comm.base = grad.data();
  GradientReducer reducer(comm, grad.data(), 300, 64 * sizeof(float), Reduction::ordered);
  reducer.begin_step();
  reducer.ready_from(100);
  reducer.finish();
  EXPECT_EQ(grad, std::vector<float>(300, 0.0f));
  // The buffers are the reducer's: a second step sums the new gradient the same way.
  std::fill(grad.begin(), grad.end(), 2.0f);
  comm.other_rows = {3.0f, 4.0f, 5.0f};
  reducer.begin_step();
  reducer.finish();
  EXPECT_EQ(grad, std::vector<float>(300, 14.0f));
}

// Note [Ordered reduction]: a bucket's gather starts once its exchange has arrived, in bucket
// order; backward starts the buckets and gathers what is in, and finish() the rest.
TEST(GradientReducer, OrderedGathersStartWhenTheirExchangeHasArrived) {
  for (bool arrived : {false, true}) {
    SCOPED_TRACE(arrived ? "exchanges arrive at once" : "exchanges still on the wire");
    RecordingCommunicator comm;
    comm.ranks = 3;
    comm.other_rows = {1.0f, 2.0f};
    comm.arrived = arrived;
    std::vector<float> grad(1000, 4.0f);
    comm.base = grad.data();
    GradientReducer reducer(comm, grad.data(), 1000, 256 * sizeof(float), Reduction::ordered);
    reducer.begin_step();
    reducer.ready_from(100);
    const std::vector<std::string> started = {"x736", "x480", "x224"};
    const std::vector<std::string> gathered = {"x736", "x480", "x224", "g736", "g480", "g224"};
    EXPECT_EQ(comm.log, arrived ? gathered : started);
    reducer.finish();
    EXPECT_EQ(comm.log, arrived
                            ? (std::vector<std::string>{"x736", "x480", "x224", "g736", "g480", "g224", "x0", "g0"})
                            : (std::vector<std::string>{"x736", "x480", "x224", "x0", "g736", "g480", "g224", "g0"}));
    EXPECT_EQ(grad, std::vector<float>(1000, 7.0f));
  }
}

// A slow link never holds backward: the waits are all in finish(), and count there.
TEST(GradientReducer, OrderedExchangesOnTheWireNeverHoldBackward) {
  RecordingCommunicator comm;
  comm.ranks = 3;
  comm.other_rows = {1.0f, 2.0f};
  comm.wait_time = std::chrono::milliseconds(20);
  std::vector<float> grad(1000, 4.0f);
  comm.base = grad.data();
  GradientReducer reducer(comm, grad.data(), 1000, 256 * sizeof(float), Reduction::ordered);
  reducer.begin_step();
  reducer.ready_from(100);  // starts 3 buckets, none of which has arrived
  EXPECT_EQ(comm.waits, 0);
  EXPECT_LT(reducer.last_wait_seconds(), 0.02);
  reducer.finish();  // 4 exchanges and 4 gathers waited for
  EXPECT_EQ(comm.waits, 8);
  EXPECT_GE(reducer.last_wait_seconds(), 0.16);
}

TEST(GradientReducer, ReductionNames) {
  EXPECT_EQ(parse_reduction("ordered"), Reduction::ordered);
  EXPECT_EQ(parse_reduction("mpi"), Reduction::mpi);
  EXPECT_EQ(reduction_name(parse_reduction("mpi")), "mpi");
  EXPECT_THROW(parse_reduction("ring"), ConfigError);
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
