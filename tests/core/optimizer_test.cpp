#include "core/optimizer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/error.hpp"
#include "core/lr_schedule.hpp"

namespace convoy {
namespace {

TEST(Optimizer, SgdMomentumAndNesterovFollowPyTorchFormulas) {
  for (const bool nesterov : {false, true}) {
    OptimizerConfig c{.type = "sgd", .momentum = 0.9f, .nesterov = nesterov, .weight_decay = 0.1f};
    auto opt = make_optimizer(c, 1);
    float p = 1.0f;
    double ref_p = 1.0, v = 0.0;
    const float grads[] = {0.5f, -0.25f, 1.0f};
    for (const float g : grads) {
      opt->step(&p, &g, 0.1f);
      const double gd = g + 0.1 * ref_p;
      v = 0.9 * v + gd;
      ref_p -= 0.1 * (nesterov ? gd + 0.9 * v : v);
    }
    EXPECT_NEAR(p, ref_p, 1e-6) << "nesterov " << nesterov;
    EXPECT_EQ(opt->steps(), 3);
  }
}

TEST(Optimizer, AdamFollowsKingmaAndBa) {
  OptimizerConfig c{.type = "adam", .epsilon = 1e-8f};
  auto opt = make_optimizer(c, 1);
  float p = 0.5f;
  double ref = 0.5, m = 0, v = 0;
  const float grads[] = {0.1f, -0.3f, 0.2f, 0.05f};
  int t = 0;
  for (const float g : grads) {
    opt->step(&p, &g, 0.01f);
    ++t;
    m = 0.9 * m + 0.1 * g;
    v = 0.999 * v + 0.001 * g * g;
    const double mh = m / (1 - std::pow(0.9, t)), vh = v / (1 - std::pow(0.999, t));
    ref -= 0.01 * mh / (std::sqrt(vh) + 1e-8);
  }
  EXPECT_NEAR(p, ref, 1e-6);
}

// Gradients for parameter i at step t: several parameters of both signs and sizes, 19 of them so
// the vector loop's tail is reached.
constexpr int kParams = 19;
float gradient(int t, int i) { return static_cast<float>(std::sin(1.7 * i + 0.9 * t) * (0.1 + 0.2 * (i % 4))); }
float initial(int i) { return 0.25f * static_cast<float>(i % 7) - 0.6f; }

TEST(Optimizer, SgdWithoutMomentumIsPlainGradientDescentWithWeightDecay) {
  auto opt = make_optimizer({.type = "sgd", .weight_decay = 0.05f}, kParams);
  EXPECT_TRUE(opt->state().empty()) << "no momentum, no state";
  std::vector<float> p(kParams), g(kParams);
  std::vector<double> ref(kParams);
  for (int i = 0; i < kParams; ++i) p[i] = initial(i), ref[i] = initial(i);
  const float lrs[] = {0.1f, 0.1f, 0.05f, 0.2f};
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < kParams; ++i) g[i] = gradient(t, i);
    opt->step(p.data(), g.data(), lrs[t]);
    for (int i = 0; i < kParams; ++i) ref[i] -= lrs[t] * (g[i] + 0.05 * ref[i]);
  }
  for (int i = 0; i < kParams; ++i) EXPECT_NEAR(p[i], ref[i], 1e-6) << "parameter " << i;
  EXPECT_EQ(opt->steps(), 4);
}

// Weight decay added to the gradient (PyTorch's Adam, not AdamW), bias-corrected moments, and an
// epsilon large enough to matter (0.1 against sqrt(v) of about 0.1 to 0.5).
TEST(Optimizer, AdamWithWeightDecayAndALargeEpsilonOverSeveralParameters) {
  const OptimizerConfig c{.type = "adam", .weight_decay = 0.1f, .beta1 = 0.8f, .beta2 = 0.95f, .epsilon = 0.1f};
  auto opt = make_optimizer(c, kParams);
  std::vector<float> p(kParams), g(kParams);
  std::vector<double> ref(kParams), m(kParams, 0.0), v(kParams, 0.0);
  for (int i = 0; i < kParams; ++i) p[i] = initial(i), ref[i] = initial(i);
  for (int t = 1; t <= 5; ++t) {
    for (int i = 0; i < kParams; ++i) g[i] = gradient(t, i);
    opt->step(p.data(), g.data(), 0.02f);
    for (int i = 0; i < kParams; ++i) {
      const double gd = g[i] + 0.1 * ref[i];
      m[i] = 0.8 * m[i] + 0.2 * gd;
      v[i] = 0.95 * v[i] + 0.05 * gd * gd;
      const double mh = m[i] / (1 - std::pow(0.8, t)), vh = v[i] / (1 - std::pow(0.95, t));
      ref[i] -= 0.02 * mh / (std::sqrt(vh) + 0.1);
    }
  }
  for (int i = 0; i < kParams; ++i) EXPECT_NEAR(p[i], ref[i], 2e-6) << "parameter " << i;
  // The moments are the checkpointed state: m and v as computed by hand (v of the decayed gradient).
  ASSERT_EQ(opt->state().size(), 2u);
  for (int i = 0; i < kParams; ++i) {
    EXPECT_NEAR(opt->state()[0].values[i], m[i], 1e-6) << "m " << i;
    EXPECT_NEAR(opt->state()[1].values[i], v[i], 1e-6) << "v " << i;
  }
}

// A checkpoint holds steps() and state(): an optimizer restored from them continues with the
// bits of one that never stopped (Adam's bias corrections depend on the step count).
TEST(Optimizer, RestoredFromItsStateContinuesBitwise) {
  for (const OptimizerConfig& c : {OptimizerConfig{.type = "adam", .weight_decay = 0.01f},
                                   OptimizerConfig{.type = "sgd", .momentum = 0.9f, .nesterov = true}}) {
    auto once = make_optimizer(c, kParams);
    std::vector<float> p(kParams), g(kParams);
    for (int i = 0; i < kParams; ++i) p[i] = initial(i);
    for (int t = 0; t < 3; ++t) {
      for (int i = 0; i < kParams; ++i) g[i] = gradient(t, i);
      once->step(p.data(), g.data(), 0.01f);
    }
    auto resumed = make_optimizer(c, kParams);
    resumed->restore(once->steps(), once->state());
    std::vector<float> q = p;
    for (int t = 3; t < 6; ++t) {
      for (int i = 0; i < kParams; ++i) g[i] = gradient(t, i);
      once->step(p.data(), g.data(), 0.01f);
      resumed->step(q.data(), g.data(), 0.01f);
    }
    EXPECT_EQ(0, std::memcmp(p.data(), q.data(), kParams * sizeof(float))) << c.type;
    EXPECT_EQ(resumed->steps(), 6) << c.type;
  }
}

TEST(Optimizer, RejectsBadSettingsAndMismatchedState) {
  EXPECT_THROW(make_optimizer({.type = "rmsprop"}, 1), ConfigError);
  EXPECT_THROW(make_optimizer({.type = "sgd", .momentum = -0.1f}, 1), ConfigError);
  EXPECT_THROW(make_optimizer({.type = "sgd", .nesterov = true}, 1), ConfigError);
  auto adam = make_optimizer({.type = "adam"}, 4);
  EXPECT_THROW(adam->restore(3, {{"momentum", std::vector<float>(4)}}), IoError);
}

// Note [Layer learning rates]: a frozen segment keeps its bits (weight decay included), a
// segment at 2 moves twice as far, and segments at 1 give the bits of no segments at all.
TEST(Optimizer, SegmentsScaleTheRateAndFrozenOnesKeepTheirBits) {
  for (const char* type : {"sgd", "adam"}) {
    const OptimizerConfig c{.type = type, .momentum = 0.9f, .weight_decay = 0.1f};
    std::vector<float> plain(8), segmented(8), ones(8), grads(8);
    for (int i = 0; i < 8; ++i) {
      plain[i] = segmented[i] = ones[i] = 0.3f * static_cast<float>(i) - 1.0f;
      grads[i] = 0.25f * static_cast<float>(i % 3) - 0.2f;
    }
    const std::vector<float> start = plain;
    auto a = make_optimizer(c, 8), b = make_optimizer(c, 8), d = make_optimizer(c, 8);
    b->set_segments({{4, 6, 2.0f}, {1, 3, 0.0f}});
    d->set_segments({{0, 3, 1.0f}, {5, 8, 1.0f}});
    for (int step = 0; step < 3; ++step) {
      a->step(plain.data(), grads.data(), 0.01f);
      b->step(segmented.data(), grads.data(), 0.01f);
      d->step(ones.data(), grads.data(), 0.01f);
    }
    EXPECT_EQ(ones, plain) << type;
    for (int i : {1, 2}) EXPECT_EQ(segmented[i], start[i]) << type << " frozen parameter " << i;
    for (int i : {0, 3, 6, 7}) EXPECT_EQ(segmented[i], plain[i]) << type << " parameter " << i << " at 1";
    // SGD without momentum or decay, one step: p - lr g, at twice the rate in the segment at 2.
    auto e = make_optimizer({.type = "sgd"}, 8), f = make_optimizer({.type = "sgd"}, 8);
    f->set_segments({{4, 6, 2.0f}});
    std::vector<float> once = start, twice = start;
    e->step(once.data(), grads.data(), 0.01f);
    f->step(twice.data(), grads.data(), 0.01f);
    for (int i : {4, 5}) {
      EXPECT_EQ(once[i], start[i] - 0.01f * grads[i]) << i;
      EXPECT_EQ(twice[i], start[i] - 0.02f * grads[i]) << i;
    }
    for (int i : {4, 5}) EXPECT_NE(segmented[i], plain[i]) << type << " parameter " << i << " at 2";
  }
  auto g = make_optimizer({.type = "sgd"}, 8);
  EXPECT_THROW(g->set_segments({{0, 4, 1.0f}, {3, 5, 0.5f}}), ConfigError);  // overlap
  EXPECT_THROW(g->set_segments({{6, 9, 1.0f}}), ConfigError);                // past the store
  EXPECT_THROW(g->set_segments({{0, 2, -1.0f}}), ConfigError);
}

// A store large enough to be updated in slices: 1, 2 and 3 threads give the same bits, with
// and without segments (one of which straddles the slices' boundaries).
TEST(Optimizer, ThreadsDoNotChangeTheBits) {
  const int64_t n = (int64_t{1} << 21) + 123;
  std::vector<float> start(n), grads(n);
  for (int64_t i = 0; i < n; ++i) {
    start[i] = 0.001f * static_cast<float>(i % 1999) - 1.0f;
    grads[i] = 0.0003f * static_cast<float>(i % 997) - 0.1f;
  }
  for (const char* type : {"sgd", "adam"})
    for (const bool segmented : {false, true}) {
      std::vector<float> first;
      for (const int threads : {1, 2, 3}) {
        auto opt = make_optimizer({.type = type, .momentum = 0.9f, .weight_decay = 0.1f}, n);
        if (segmented) opt->set_segments({{100, n / 2 + 7, 2.0f}, {n / 2 + 7, n - 5, 0.5f}});
        std::vector<float> p = start;
        for (int step = 0; step < 2; ++step) opt->step(p.data(), grads.data(), 0.01f, threads);
        if (threads == 1) {
          EXPECT_NE(p, start) << type;
          first = p;
        } else {
          EXPECT_EQ(0, std::memcmp(p.data(), first.data(), n * sizeof(float)))
              << type << (segmented ? " segmented, " : ", ") << threads << " threads";
        }
      }
    }
}

TEST(LrSchedule, StepDecayAndValidation) {
  LrSchedule s{.base_lr = 0.1f, .step_epochs = 2, .gamma = 0.5f};
  EXPECT_FLOAT_EQ(s.at(0), 0.1f);
  EXPECT_FLOAT_EQ(s.at(1), 0.1f);
  EXPECT_FLOAT_EQ(s.at(2), 0.05f);
  EXPECT_FLOAT_EQ(s.at(5), 0.025f);
  EXPECT_THROW((LrSchedule{.base_lr = -1e-3f}.validate()), ConfigError);
  EXPECT_THROW((LrSchedule{.base_lr = 0.0f}.validate()), ConfigError);
  EXPECT_EQ(LrSchedule::from_json(s.to_json()).step_epochs, 2);
}

}  // namespace
}  // namespace convoy
