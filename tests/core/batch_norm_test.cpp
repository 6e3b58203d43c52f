#include "core/batch_norm.hpp"

#include <gtest/gtest.h>

#include <barrier>
#include <cmath>
#include <cstring>
#include <thread>

#include "core/add.hpp"
#include "core/error.hpp"
#include "core/kernels/tree_sum.hpp"
#include "core/relu.hpp"
#include "tests/core/gradient_check.hpp"
#include "tests/core/kernels/kernel_test_support.hpp"

namespace convoy {
namespace {

using testing::BoundLayer;

std::unique_ptr<Layer> make_bn() { return std::make_unique<BatchNorm>(BatchNormOptions{}); }

TEST(BatchNorm, ShapesParametersAndBuffers) {
  BatchNorm bn({});
  const std::vector<Shape> conv{Shape{4, 3, 5, 5}}, dense{Shape{4, 7}};
  EXPECT_EQ(bn.output_shape(conv), conv[0]);
  EXPECT_EQ(bn.output_shape(dense), dense[0]);
  EXPECT_THROW(bn.output_shape(std::vector<Shape>{Shape{4, 3, 5}}), ShapeError);
  ASSERT_EQ(bn.parameter_specs(conv).size(), 2u);
  EXPECT_EQ(bn.parameter_specs(conv)[0].init, Init::ones);
  const std::vector<BufferSpec> buffers = bn.buffer_specs(conv);
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[1].name, "running_var");
  EXPECT_EQ(buffers[1].init, 1.0f);
  EXPECT_TRUE(BatchNorm({.affine = false}).parameter_specs(conv).empty());
  EXPECT_THROW(BatchNorm({.momentum = 1.5}), ConfigError);
  EXPECT_THROW(BatchNorm({.epsilon = 0.0}), ConfigError);
}

TEST(BatchNorm, TrainingForwardAndRunningStatisticsMatchHandComputedValues) {
  // One channel over 2 samples of 2 pixels: x = 1, 2, 3, 4; mean 2.5, biased variance 1.25.
  BatchNorm bn({.momentum = 0.1, .epsilon = 1e-5});
  BoundLayer bound(bn, {Shape{2, 1, 1, 2}}, 1, 1);
  bound.parameters[0][0] = 2.0f;   // gamma
  bound.parameters[1][0] = 0.5f;   // beta
  Tensor x(Shape{2, 1, 1, 2}), y(Shape{2, 1, 1, 2});
  for (int i = 0; i < 4; ++i) x[i] = static_cast<float>(i + 1);
  bn.forward({&x, 1}, y, bound.context(1));
  const double inv_std = 1.0 / std::sqrt(1.25 + 1e-5);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], 2.0 * (i + 1 - 2.5) * inv_std + 0.5, 1e-5) << i;
  EXPECT_NEAR(bound.buffers[0][0], 0.1 * 2.5, 1e-7);                    // running mean
  EXPECT_NEAR(bound.buffers[1][0], 0.9 + 0.1 * 1.25 * 4.0 / 3.0, 1e-6);  // unbiased variance

  // Inference: the running statistics, not the batch's.
  PassContext eval = bound.context(1);
  eval.training = false;
  bn.forward({&x, 1}, y, eval);
  const double rm = bound.buffers[0][0], rs = 1.0 / std::sqrt(bound.buffers[1][0] + 1e-5);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], 2.0 * (i + 1 - rm) * rs + 0.5, 1e-5) << i;
}

TEST(BatchNorm, StatisticsOfLargeOffsetsDoNotCancel) {
  // Values 1e4 + {0, 1}: a float sum of squares would lose the variance of 0.25 entirely.
  BatchNorm bn({.momentum = 1.0});
  BoundLayer bound(bn, {Shape{64, 1}}, 1, 1);
  Tensor x(Shape{64, 1}), y(Shape{64, 1});
  for (int i = 0; i < 64; ++i) x[i] = 10000.0f + static_cast<float>(i % 2);
  bn.forward({&x, 1}, y, bound.context(1));
  EXPECT_NEAR(bound.buffers[1][0], 0.25 * 64.0 / 63.0, 1e-6);
}

TEST(BatchNorm, LayerContract) {
  for (const Shape& in : {Shape{11, 3, 4, 5}, Shape{9, 6}, Shape{3, 2, 3, 3}}) {
    const std::string failures = testing::check_layer_contract(make_bn, {in});
    EXPECT_TRUE(failures.empty()) << in.str() << ": " << failures;
  }
}

// Note [Post-ops]: batch_norm + relu computes what batch_norm then relu do, to the bit.
TEST(BatchNorm, FusedReluEqualsBatchNormThenRelu) {
  const auto make_fused = [] {
    auto bn = std::make_unique<BatchNorm>(BatchNormOptions{});
    EXPECT_TRUE(bn->accept_post_op(PostOp::relu));
    EXPECT_FALSE(bn->accept_post_op(PostOp::max_pool_2x2));
    return std::unique_ptr<Layer>(std::move(bn));
  };
  // Every input moves every output through the batch statistics, so finite differences cross
  // the ReLU's kink somewhere whatever the inputs: the gradients are checked bitwise against
  // batch_norm then relu below, each of which passes its own finite differences.
  testing::GradientCheckOptions bitwise_only;
  bitwise_only.finite_differences = false;
  EXPECT_EQ(testing::check_layer_contract(make_fused, {Shape{11, 3, 4, 5}}, bitwise_only), "");
  const Shape s{10, 4, 3, 3};
  BatchNorm plain({}), fused({});
  fused.accept_post_op(PostOp::relu);
  Relu relu;
  BoundLayer bp(plain, {s}, 2, 1), bf(fused, {s}, 2, 1);
  Tensor x(s), z(s), y(s), yf(s), g(s), gz(s), dx(s), dxf(s);
  testing::fill_uniform(x, 1);
  testing::fill_uniform(g, 2);
  plain.forward({&x, 1}, z, bp.context(2));
  relu.forward({&z, 1}, y, bp.context(2));
  fused.forward({&x, 1}, yf, bf.context(2));
  EXPECT_EQ(0, std::memcmp(y.data(), yf.data(), y.numel() * sizeof(float)));
  relu.backward({&z, 1}, y, g, {&gz, 1}, bp.context(2));
  plain.backward({&x, 1}, z, gz, {&dx, 1}, bp.context(2));
  fused.backward({&x, 1}, yf, g, {&dxf, 1}, bf.context(2));
  EXPECT_EQ(0, std::memcmp(dx.data(), dxf.data(), dx.numel() * sizeof(float)));
  for (size_t p = 0; p < 2; ++p)
    EXPECT_EQ(0, std::memcmp(bp.gradients[p].data(), bf.gradients[p].data(), 4 * sizeof(float))) << p;
}

// Note [Fused residual add]: batch_norm + add (+ relu) computes what batch_norm, add and relu do
// as separate layers, to the bit: output, both input gradients and the parameter gradients, on
// every ISA the kernels are compiled for.
TEST(BatchNorm, FusedAddEqualsBatchNormThenAddThenRelu) {
  for (const bool with_relu : {false, true}) {
    SCOPED_TRACE(with_relu ? "add + relu" : "add");
    const auto make_fused = [with_relu] {
      auto bn = std::make_unique<BatchNorm>(BatchNormOptions{});
      EXPECT_TRUE(bn->accept_post_op(PostOp::residual_add));
      EXPECT_FALSE(bn->accept_post_op(PostOp::residual_add));
      if (with_relu) {
        EXPECT_TRUE(bn->accept_post_op(PostOp::relu));
      }
      return std::unique_ptr<Layer>(std::move(bn));
    };
    // Without the ReLU there is no kink: finite differences of both inputs and both parameters.
    testing::GradientCheckOptions options;
    options.finite_differences = !with_relu;
    EXPECT_EQ(testing::check_layer_contract(make_fused, {Shape{9, 3, 4, 5}, Shape{9, 3, 4, 5}}, options), "");
    testing::for_each_isa([&](Isa) {
      const Shape s{10, 4, 3, 3};
      BatchNorm plain({});
      std::unique_ptr<Layer> fused = make_fused();
      Add add;
      Relu relu;
      BoundLayer bp(plain, {s}, 2, 1), bf(*fused, {s, s}, 2, 1);
      Tensor x(s), r(s), z(s), sum(s), y(s), yf(s), g(s), gsum(s), gz(s), gr(s), dx(s), dxf(s), grf(s);
      testing::fill_uniform(x, 1);
      testing::fill_uniform(r, 2);
      testing::fill_uniform(g, 3);
      plain.forward({&x, 1}, z, bp.context(2));
      const std::vector<Tensor> add_in{z, r};
      add.forward(add_in, sum, bp.context(2));
      if (with_relu) relu.forward({&sum, 1}, y, bp.context(2));
      const Tensor& out = with_relu ? y : sum;
      const std::vector<Tensor> fused_in{x, r};
      fused->forward(fused_in, yf, bf.context(2));
      EXPECT_EQ(0, std::memcmp(out.data(), yf.data(), out.numel() * sizeof(float)));
      if (with_relu) relu.backward({&sum, 1}, y, g, {&gsum, 1}, bp.context(2));
      std::vector<Tensor> add_grads{gz, gr};
      add.backward(add_in, sum, with_relu ? gsum : g, add_grads, bp.context(2));
      plain.backward({&x, 1}, z, gz, {&dx, 1}, bp.context(2));
      std::vector<Tensor> fused_grads{dxf, grf};
      fused->backward(fused_in, yf, g, fused_grads, bf.context(2));
      EXPECT_EQ(0, std::memcmp(dx.data(), dxf.data(), dx.numel() * sizeof(float)));
      EXPECT_EQ(0, std::memcmp(gr.data(), grf.data(), gr.numel() * sizeof(float)));
      for (size_t p = 0; p < 2; ++p)
        EXPECT_EQ(0, std::memcmp(bp.gradients[p].data(), bf.gradients[p].data(), 4 * sizeof(float))) << p;
    });
  }
}

// Note [Batch statistics in the tree]: each ISA's kernels give the same bits with 1 and 2
// threads, and agree with the portable ones to rounding.
TEST(BatchNorm, EveryIsaGivesTheSameBitsOnOneAndTwoThreadsAndAgreesWithThePortableKernels) {
  const Shape s{24, 5, 7, 7};
  Tensor x(s), g(s);
  testing::fill_uniform(x, 4, -1.0f, 3.0f);
  testing::fill_uniform(g, 5);
  std::vector<float> reference;
  testing::for_each_isa([&](Isa isa) {
    std::vector<float> results[2];
    for (int threads : {1, 2}) {
      BatchNorm bn({});
      bn.accept_post_op(PostOp::relu);
      BoundLayer bound(bn, {s}, threads, 1);
      Tensor y(s), dx(s);
      bn.forward({&x, 1}, y, bound.context(threads));
      bn.backward({&x, 1}, y, g, {&dx, 1}, bound.context(threads));
      std::vector<float>& r = results[threads - 1];
      r.assign(y.data(), y.data() + y.numel());
      r.insert(r.end(), dx.data(), dx.data() + dx.numel());
      for (const Tensor* t : {&bound.gradients[0], &bound.gradients[1], &bound.buffers[0], &bound.buffers[1]})
        r.insert(r.end(), t->data(), t->data() + t->numel());
    }
    ASSERT_EQ(results[0], results[1]) << "1 vs 2 threads";
    if (isa == Isa::generic) reference = results[0];
    ASSERT_EQ(reference.size(), results[0].size());
    for (size_t i = 0; i < reference.size(); ++i)
      ASSERT_NEAR(results[0][i], reference[i], 1e-5 * (1.0 + std::abs(reference[i]))) << "value " << i;
  });
}

// Ranks simulated by threads: sum() exchanges every thread's vector through a barrier and adds
// them in the fixed tree, as CommRankSum does over MPI.
class ThreadRankSum final : public RankSum {
 public:
  ThreadRankSum(int ranks, int rank, std::barrier<>& barrier, std::vector<std::vector<double>>& board)
      : ranks_(ranks), rank_(rank), barrier_(barrier), board_(board) {}
  void sum(double* values, int64_t count) const override {
    board_[rank_].assign(values, values + count);
    barrier_.arrive_and_wait();
    std::vector<double> column(ranks_);
    for (int64_t j = 0; j < count; ++j) {
      for (int r = 0; r < ranks_; ++r) column[r] = board_[r][j];
      values[j] = tree_sum(column.data(), ranks_);
    }
    barrier_.arrive_and_wait();
  }

 private:
  int ranks_, rank_;
  std::barrier<>& barrier_;
  std::vector<std::vector<double>>& board_;
};

// Note [Batch statistics in the tree]: a global batch of 64 on 1, 2 and 4 ranks (whole 8-sample
// groups each) gives the same outputs, input gradients, running statistics and, after the
// gradient reducer's tree over ranks, parameter gradients, to the bit.
TEST(BatchNorm, OneTwoAndFourRanksGiveTheSameBits) {
  const int64_t batch = 64, channels = 16, plane = 6;
  Tensor x(Shape{batch, channels, 2, 3}), dy(Shape{batch, channels, 2, 3});
  testing::fill_uniform(x, 3, -2.0f, 5.0f);
  testing::fill_uniform(dy, 4);
  struct Result {
    std::vector<float> y, dx, running, gamma_grad, beta_grad;
  };
  const auto run = [&](int ranks) {
    std::barrier<> barrier(ranks);
    std::vector<std::vector<double>> board(ranks);
    std::vector<std::vector<float>> gamma(ranks), beta(ranks);
    Result r;
    r.y.resize(x.numel());
    r.dx.resize(x.numel());
    r.running.resize(2 * channels);
    std::vector<std::thread> threads;
    for (int rank = 0; rank < ranks; ++rank) {
      threads.emplace_back([&, rank] {
        const int64_t n = batch / ranks, offset = rank * n * channels * plane;
        BatchNorm bn({});
        BoundLayer bound(bn, {Shape{n, channels, 2, 3}}, 1, 1);
        ThreadRankSum sum(ranks, rank, barrier, board);
        PassContext ctx = bound.context(1);
        ctx.rank_sum = &sum;
        Tensor xs = Tensor::view(x.data() + offset, Shape{n, channels, 2, 3});
        Tensor dys = Tensor::view(dy.data() + offset, Shape{n, channels, 2, 3});
        Tensor ys = Tensor::view(r.y.data() + offset, Shape{n, channels, 2, 3});
        Tensor dxs = Tensor::view(r.dx.data() + offset, Shape{n, channels, 2, 3});
        bn.forward({&xs, 1}, ys, ctx);
        bn.backward({&xs, 1}, ys, dys, {&dxs, 1}, ctx);
        gamma[rank].assign(bound.gradients[0].data(), bound.gradients[0].data() + channels);
        beta[rank].assign(bound.gradients[1].data(), bound.gradients[1].data() + channels);
        if (rank == 0)
          for (int64_t c = 0; c < channels; ++c) r.running[c] = bound.buffers[0][c], r.running[channels + c] = bound.buffers[1][c];
      });
    }
    for (auto& t : threads) t.join();
    // The gradient reducer's ordered reduction: the ranks' float gradients in the fixed tree.
    for (auto [parts, out] : {std::pair{&gamma, &r.gamma_grad}, std::pair{&beta, &r.beta_grad}}) {
      std::vector<float> partials;
      for (auto& p : *parts) partials.insert(partials.end(), p.begin(), p.end());
      out->assign(channels, 0.0f);
      tree_sum(partials.data(), ranks, channels, channels, out->data());
    }
    return r;
  };
  const Result one = run(1);
  for (int ranks : {2, 4}) {
    const Result many = run(ranks);
    EXPECT_EQ(0, std::memcmp(one.y.data(), many.y.data(), one.y.size() * 4)) << ranks << " ranks: output";
    EXPECT_EQ(0, std::memcmp(one.dx.data(), many.dx.data(), one.dx.size() * 4)) << ranks << " ranks: input gradient";
    EXPECT_EQ(one.running, many.running) << ranks << " ranks: running statistics";
    EXPECT_EQ(one.gamma_grad, many.gamma_grad) << ranks << " ranks: weight gradient";
    EXPECT_EQ(one.beta_grad, many.beta_grad) << ranks << " ranks: bias gradient";
  }
}

}  // namespace
}  // namespace convoy
