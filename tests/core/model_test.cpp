#include "core/model.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "core/softmax_cross_entropy.hpp"
#include "core/zoo.hpp"
#include "tests/core/gradient_check.hpp"

namespace convoy {
namespace {

const Shape kMnist{1, 28, 28};

const LayerInfo& layer_named(const Model& model, const std::string& name) {
  for (const LayerInfo& l : model.layers())
    if (l.name == name) return l;
  throw std::runtime_error("no layer " + name);
}

TEST(Model, BuiltinModelsHaveTheExpectedParameterCounts) {
  // keras-cnn: 320 + 18496 + 36928 + 36928 + 650; lenet5: 156 + 2416 + 48120 + 10164 + 850.
  for (const auto& [name, count] : {std::pair{"keras-cnn", 93322}, {"lenet5", 61706}}) {
    Model model(builtin_model(name, kMnist, 10), 4, 1);
    int64_t total = 0;
    for (const LayerInfo& l : model.layers()) total += l.parameters;
    EXPECT_EQ(total, count) << name;
    EXPECT_GE(model.parameter_count(), total);
    EXPECT_NE(model.summary().find(std::to_string(count) + " parameters"), std::string::npos) << model.summary();
  }
  const Model keras(builtin_model("keras-cnn", kMnist, 10), 4, 1);
  EXPECT_EQ(layer_named(keras, "conv2d_7").output, (Shape{4, 64, 3, 3}));
  // Each convolution absorbed the ReLU after it (Note [Fused ReLU]) and the 2x2 max pool after
  // that (Note [Fused pooling]); the ReLU after a dense layer stays a layer of its own.
  EXPECT_EQ(layer_named(keras, "conv2d_1").description, "conv2d 32 3x3 stride 1 padding valid + relu + max_pool2d 2x2");
  EXPECT_EQ(layer_named(keras, "conv2d_1").output, (Shape{4, 32, 13, 13}));
  EXPECT_EQ(layer_named(keras, "conv2d_4").description, "conv2d 64 3x3 stride 1 padding valid + relu + max_pool2d 2x2");
  EXPECT_EQ(layer_named(keras, "conv2d_4").output, (Shape{4, 64, 5, 5}));
  EXPECT_EQ(layer_named(keras, "conv2d_7").description, "conv2d 64 3x3 stride 1 padding valid + relu");
  EXPECT_EQ(keras.layers().size(), 7u);
  EXPECT_THROW(layer_named(keras, "max_pool2d_6"), std::runtime_error);
  EXPECT_THROW(layer_named(keras, "relu_2"), std::runtime_error);
  EXPECT_THROW(layer_named(keras, "max_pool2d_3"), std::runtime_error);
  EXPECT_EQ(Model(builtin_model("keras-cnn", kMnist, 10), 4, 1, false).layers().size(), 12u);
  EXPECT_EQ(layer_named(keras, "relu_11").description, "relu");
}

TEST(Model, ParametersAreAlignedAndInitialisationIsDeterministic) {
  Model a(builtin_model("lenet5", kMnist, 10), 2, 1), b(builtin_model("lenet5", kMnist, 10), 2, 1);
  for (const LayerInfo& l : a.layers()) EXPECT_EQ(l.parameter_offset % 16, 0) << l.name;
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.parameters()) % 64, 0u);
  a.initialize(7);
  b.initialize(7);
  EXPECT_EQ(0, std::memcmp(a.parameters(), b.parameters(), a.parameter_count() * sizeof(float)));
  b.initialize(8);
  EXPECT_NE(0, std::memcmp(a.parameters(), b.parameters(), a.parameter_count() * sizeof(float)));
  // He initialisation: dense_8's 400x120 weights have mean 0 and variance 2 / fan_in = 2 / 400.
  const LayerInfo& dense = layer_named(a, "dense_8");
  double sum = 0, sum2 = 0;
  for (int64_t i = 0; i < 400 * 120; ++i) {
    const double w = a.parameters()[dense.parameter_offset + i];
    sum += w;
    sum2 += w * w;
  }
  EXPECT_NEAR(sum / 48000, 0.0, 0.002);
  EXPECT_NEAR(sum2 / 48000, 2.0 / 400, 0.0003);
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  EXPECT_NE(a.fingerprint(), Model(builtin_model("keras-cnn", kMnist, 10), 2, 1).fingerprint());
}

TEST(Model, RejectsBadSpecsNamingTheLayer) {
  ModelSpec spec = builtin_model("keras-cnn", kMnist, 10);
  EXPECT_THROW(builtin_model("resnet-9000", kMnist, 10), ConfigError);
  ModelSpec no_flatten = spec;
  no_flatten.layers.erase(no_flatten.layers.begin() + 8);  // dense straight after conv
  try {
    Model m(no_flatten, 2, 1);
    FAIL() << "dense after conv without flatten was accepted";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("dense_"), std::string::npos) << e.what();
  }
  ModelSpec wrong_classes = spec;
  wrong_classes.classes = 7;
  EXPECT_THROW(Model(wrong_classes, 2, 1), ShapeError);
  ModelSpec typo = spec;
  typo.layers[0].options["kernal"] = 3;
  EXPECT_THROW(Model(typo, 2, 1), ConfigError);
  ModelSpec fused_typo = spec;  // max_pool2d_3 is fused into conv2d_1, and still checked
  fused_typo.layers[2].options["windw"] = 2;
  EXPECT_THROW(Model(fused_typo, 2, 1), ConfigError);
  EXPECT_THROW(Model(spec, 0, 1), ConfigError);
  EXPECT_THROW(Model(builtin_model("keras-cnn", Shape{1, 6, 6}, 10), 2, 1), ShapeError);  // too small for 3 convs
}

TEST(Model, SpecRoundTripsThroughJson) {
  const ModelSpec spec = builtin_model("lenet5", kMnist, 10);
  const ModelSpec back = ModelSpec::from_json(nlohmann::json::parse(spec.to_json().dump()));
  EXPECT_EQ(back.to_json(), spec.to_json());
  EXPECT_THROW(ModelSpec::from_json(nlohmann::json{{"name", "x"}}), ConfigError);
}

// Whole-model gradients (loss = mean softmax cross-entropy) against central differences.
// Smooth layers only, so no finite-difference step crosses a ReLU or max-pool kink.
TEST(Model, BackwardMatchesFiniteDifferencesOfTheLoss) {
  ModelSpec spec;
  spec.name = "smooth";
  spec.input = Shape{2, 7, 6};
  spec.classes = 5;
  spec.layers = {{"conv2d", "c1", {}, {{"out_channels", 3}, {"kernel", 3}, {"padding", "same"}}},
                 {"avg_pool2d", "p1", {}, {{"window", 2}}},
                 {"conv2d", "c2", {}, {{"out_channels", 4}, {"kernel", 2}, {"stride", 1}}},
                 {"flatten", "f", {}, {}},
                 {"dense", "d1", {}, {{"units", 6}}},
                 {"dense", "d2", {}, {{"units", 5}}}};
  Model model(spec, 3, 2);
  model.initialize(3);
  Tensor input(Shape{3, 2, 7, 6});
  testing::fill_uniform(input, 4);
  const std::vector<int32_t> labels = {1, 4, 0};
  PassContext ctx;
  ctx.threads = 2;
  Tensor grad(Shape{3, 5});
  softmax_cross_entropy(model.forward(input, ctx), labels.data(), 1.0f / 3.0f, &grad);
  std::vector<int64_t> ready;
  model.backward(grad, ctx, [&](int64_t offset) { ready.push_back(offset); });
  ASSERT_EQ(ready.size(), spec.layers.size());
  EXPECT_TRUE(std::is_sorted(ready.rbegin(), ready.rend()));
  EXPECT_EQ(ready.back(), 0);
  int64_t probed = 0;
  EXPECT_EQ(testing::check_model_gradients(model, input, labels, ctx, {.stride = 3}, probed), "");
  EXPECT_GT(probed, 50);
}

// Note [Gradient buffers]: in a chain two output gradients are live at a time (a layer's own and
// its input's), so five layers' gradients take two slots; the finite differences above and the
// graph tests (fan-out, concatenation) check that none is overwritten while still needed.
TEST(Model, LayerGradientsShareTheSlotsOfGradientsNoLongerNeeded) {
  ModelSpec spec;
  spec.name = "chain";
  spec.input = Shape{4, 8, 8};
  spec.classes = 5;
  for (const char* name : {"c1", "c2", "c3", "c4"})
    spec.layers.push_back({"conv2d", name, {}, {{"out_channels", 4}, {"kernel", 3}, {"padding", "same"}}});
  spec.layers.push_back({"flatten", "f", {}, {}});
  spec.layers.push_back({"dense", "d", {}, {{"units", 5}}});
  const Model model(spec, 2, 1);
  const int64_t output = 2 * 4 * 8 * 8;  // every layer's but the last, at batch 2
  EXPECT_EQ(model.gradient_pool_floats(), 2 * output);
}

TEST(Model, FusedLayersComputeWhatSeparateLayersDo) {
  for (const char* name : {"keras-cnn", "lenet5"}) {
    Model fused(builtin_model(name, kMnist, 10), 11, 2), plain(builtin_model(name, kMnist, 10), 11, 2, false);
    fused.initialize(5);
    plain.initialize(5);
    Tensor input(Shape{11, 1, 28, 28}), grad(Shape{11, 10});
    testing::fill_uniform(input, 6, 0.0f, 1.0f);
    testing::fill_uniform(grad, 7);
    PassContext ctx;
    ctx.threads = 2;
    const Tensor& a = fused.forward(input, ctx);
    const std::vector<float> fused_logits(a.data(), a.data() + a.numel());
    const Tensor& b = plain.forward(input, ctx);
    EXPECT_EQ(0, std::memcmp(fused_logits.data(), b.data(), fused_logits.size() * sizeof(float))) << name;
    fused.forward(input, ctx);
    fused.backward(grad, ctx);
    plain.forward(input, ctx);
    plain.backward(grad, ctx);
    for (int64_t i = 0; i < fused.parameter_count(); ++i)
      ASSERT_NEAR(fused.gradients()[i], plain.gradients()[i], 1e-5f * (1.0f + std::abs(plain.gradients()[i])))
          << name << " parameter " << i;
  }
}

TEST(Model, SmallerBatchesAndThreadCountsGiveConsistentResults) {
  Model model(builtin_model("keras-cnn", kMnist, 10), 8, 2);
  model.initialize(1);
  Tensor input(Shape{8, 1, 28, 28});
  testing::fill_uniform(input, 2, 0.0f, 1.0f);
  PassContext one, two;
  two.threads = 2;
  const std::vector<float> full(model.forward(input, one).data(), model.forward(input, one).data() + 80);
  const Tensor& out2 = model.forward(input, two);
  EXPECT_EQ(0, std::memcmp(full.data(), out2.data(), 80 * sizeof(float)));
  // The first 3 samples alone give the same logits as within the batch of 8.
  const Tensor& part = model.forward(input.reshaped(Shape{3, 1, 28, 28}), one);
  ASSERT_EQ(part.shape(), (Shape{3, 10}));
  EXPECT_EQ(0, std::memcmp(full.data(), part.data(), 30 * sizeof(float)));
  EXPECT_THROW(model.forward(Tensor(Shape{9, 1, 28, 28}), one), ShapeError);
  EXPECT_THROW(model.forward(Tensor(Shape{2, 1, 27, 28}), one), ShapeError);
}

}  // namespace
}  // namespace convoy
