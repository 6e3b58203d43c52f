// The build and fuse passes on graphs, the zoo's parameter counts, and whole-graph gradients.
#include "core/model_graph.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.hpp"
#include "core/model.hpp"
#include "core/rng.hpp"
#include "core/softmax_cross_entropy.hpp"
#include "core/zoo.hpp"
#include "tests/core/gradient_check.hpp"

namespace convoy {
namespace {

ModelSpec spec_of(const std::string& json) {
  return ModelSpec::from_template(nlohmann::json::parse(json), Shape{2, 8, 8}, 3);
}

// Builds the spec and returns the error message, or "" if it builds.
std::string build_error(const std::string& json) {
  try {
    Model model(spec_of(json), 2, 1);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ModelGraph, EachBadGraphGetsOneMessageNamingTheLayer) {
  const std::string tail = R"(, {"type": "global_avg_pool2d", "name": "gap"}, {"type": "dense", "name": "fc", "options": {"units": 3}}]})";
  const std::string conv = R"({"type": "conv2d", "name": "c1", "options": {"out_channels": 4, "padding": 1}})";
  struct Case {
    std::string json, expected;
  };
  const Case cases[] = {
      {R"({"name": "m", "layers": [{"type": "convolution", "name": "c1"})" + tail, "layer 'c1': unknown type 'convolution'"},
      {R"({"name": "m", "layers": [{"type": "conv2d", "name": "c1", "options": {"out_channels": 4, "kernal": 3}})" + tail,
       "unknown option 'kernal'"},
      {R"({"name": "m", "layers": [)" + conv + ", " + conv + tail, "two layers are named 'c1'"},
      {R"({"name": "m", "layers": [)" + conv + R"(, {"type": "add", "name": "a", "inputs": ["c1", "later"]}, {"type": "relu", "name": "later"})" + tail,
       "layer 'a': input 'later' is this layer or a later one"},
      {R"({"name": "m", "layers": [)" + conv + R"(, {"type": "relu", "name": "r", "inputs": ["nowhere"]})" + tail,
       "layer 'r': input 'nowhere' is not a layer of model m"},
      {R"({"name": "m", "layers": [)" + conv + R"(, {"type": "add", "name": "a"})" + tail, "layer 'a' (add): expected 2 or more inputs, found 1"},
      {R"({"name": "m", "layers": [)" + conv +
           R"(, {"type": "max_pool2d", "name": "p"}, {"type": "add", "name": "a", "inputs": ["c1", "p"]})" + tail,
       "layer 'a': add: input 1 is [2, 4, 4, 4], input 0 is [2, 4, 8, 8]"},
      {R"({"name": "m", "layers": [)" + conv +
           R"(, {"type": "max_pool2d", "name": "p"}, {"type": "concat", "name": "j", "inputs": ["c1", "p"]})" + tail,
       "layer 'j': concat: input 1 is [2, 4, 4, 4], input 0 is [2, 4, 8, 8]"},
      {R"({"name": "m", "layers": [)" + conv + R"(, {"type": "relu", "name": "unread"}, {"type": "relu", "name": "r", "inputs": ["c1"]})" + tail,
       "layer 'unread': no later layer reads its output"},
      {R"({"name": "m", "layers": [{"type": "conv2d", "name": "c1", "options": {"out_channels": 4, "kernel": 9}})" + tail,
       "layer 'c1'"},
      {R"({"name": "m", "layers": [{"type": "adaptive_avg_pool2d", "name": "p", "options": {"size": 0}})" + tail,
       "output size must be positive"},
  };
  for (const Case& c : cases) {
    const std::string message = build_error(c.json);
    EXPECT_NE(message.find(c.expected), std::string::npos) << "expected '" << c.expected << "', got '" << message
                                                           << "' for " << c.json;
  }
}

TEST(ModelGraph, ZooModelsHaveTorchvisionsParameterCounts) {
  const auto count = [](const std::string& name, const Shape& input, int64_t classes) {
    Model model(builtin_model(name, input, classes), 1, 1);
    int64_t total = 0;
    for (const LayerInfo& l : model.layers()) total += l.parameters;
    return total;
  };
  const Shape imagenet{3, 224, 224}, cifar{3, 32, 32};
  EXPECT_EQ(count("alexnet", imagenet, 1000), 61100840);
  EXPECT_EQ(count("googlenet", imagenet, 1000), 6624904);
  EXPECT_EQ(count("resnet18", imagenet, 1000), 11689512);
  EXPECT_EQ(count("resnet34", imagenet, 1000), 21797672);
  EXPECT_EQ(count("resnet20", cifar, 10), 269722);
  EXPECT_EQ(count("resnet32", cifar, 10), 464154);
  EXPECT_EQ(count("resnet56", cifar, 10), 853018);
  // Fashion-MNIST's shape: the stems adapt to 1 channel and small images.
  EXPECT_GT(count("resnet18", Shape{1, 64, 64}, 10), 0);
  EXPECT_GT(count("googlenet", Shape{1, 96, 96}, 10), 0);
  EXPECT_GT(count("alexnet", Shape{1, 64, 64}, 10), 0);
}

TEST(ModelGraph, ReadersOfAFusedLayerReadItsProducer) {
  // c1 -> relu (fused into c1) read by two branches; the shortcut reads the fused node.
  ModelGraph g = build_graph(spec_of(R"({"name": "m", "layers": [
      {"type": "conv2d", "name": "c1", "options": {"out_channels": 4, "padding": 1}},
      {"type": "relu", "name": "r1"},
      {"type": "conv2d", "name": "c2", "options": {"out_channels": 4, "padding": 1}},
      {"type": "add", "name": "a", "inputs": ["c2", "r1"]},
      {"type": "global_avg_pool2d", "name": "gap"}, {"type": "dense", "name": "fc", "options": {"units": 3}}]})"),
                             2);
  ASSERT_EQ(g.nodes.size(), 6u);
  EXPECT_EQ(g.nodes[0].consumers, 1);  // r1 reads c1 alone, so r1 is fused...
  fuse_graph(g);
  ASSERT_EQ(g.nodes.size(), 5u);
  EXPECT_EQ(g.nodes[0].fused, std::vector<std::string>{"r1"});
  EXPECT_EQ(g.nodes[0].consumers, 2);  // ...and c2 and a read c1 + relu
  EXPECT_EQ(g.nodes[2].name, "a");
  EXPECT_EQ(g.nodes[2].inputs, (std::vector<int>{1, 0}));
  EXPECT_EQ(g.nodes[1].spec_index, 2);  // identity survives fusion
}

// Whole-graph gradients with every branching layer (Add with a fan-out, Concat, the pad
// shortcut), batch norm in training mode and a dropout, against central differences of the loss.
// "sum" reads "short" three times: two fan-out slots at once (Note [Fan-out gradients]).
TEST(ModelGraph, BranchedGraphGradientsMatchFiniteDifferences) {
  const ModelSpec spec = ModelSpec::from_template(nlohmann::json::parse(R"({"name": "branched", "layers": [
      {"type": "conv2d", "name": "stem", "options": {"out_channels": 4, "padding": 1, "bias": false}},
      {"type": "batch_norm", "name": "bn"},
      {"type": "conv2d", "name": "left", "inputs": ["bn"], "options": {"out_channels": 3, "kernel": 1}},
      {"type": "conv2d", "name": "right", "inputs": ["bn"], "options": {"out_channels": 5, "kernel": 3, "padding": 1}},
      {"type": "concat", "name": "join", "inputs": ["left", "right", "bn"]},
      {"type": "avg_pool2d", "name": "pool", "options": {"window": 2}},
      {"type": "pad_shortcut", "name": "short", "inputs": ["bn"], "options": {"out_channels": 12, "stride": 2}},
      {"type": "add", "name": "sum", "inputs": ["pool", "short", "short", "short"]},
      {"type": "dropout", "name": "drop", "options": {"rate": 0.25}},
      {"type": "global_avg_pool2d", "name": "gap"},
      {"type": "batch_norm", "name": "bn_features"},
      {"type": "dense", "name": "fc", "options": {"units": "classes"}}]})"),
                                                  Shape{2, 6, 6}, 4);
  Model model(spec, 9, 1);
  model.initialize(3);
  Tensor input(Shape{9, 2, 6, 6});
  testing::fill_uniform(input, 4);
  const std::vector<int32_t> labels = {1, 3, 0, 2, 2, 1, 0, 3, 1};
  PassContext ctx;
  ctx.seed = 11;
  int64_t probed = 0;
  EXPECT_EQ(testing::check_model_gradients(model, input, labels, ctx, {.stride = 5, .atol = 2e-3, .rtol = 2e-2}, probed),
            "");
  EXPECT_GT(probed, 30);
}

// Note [Counter-based randomness]: a dropout's mask is keyed by its place in the spec, so fusing
// the layers before it does not change it.
TEST(ModelGraph, DropoutMaskDoesNotDependOnFusion) {
  const ModelSpec spec = ModelSpec::from_template(nlohmann::json::parse(R"({"name": "d", "layers": [
      {"type": "conv2d", "name": "c", "options": {"out_channels": 4, "padding": 1}},
      {"type": "relu", "name": "r"}, {"type": "max_pool2d", "name": "p"},
      {"type": "dropout", "name": "drop"}, {"type": "flatten", "name": "f"},
      {"type": "dense", "name": "fc", "options": {"units": "classes"}}]})"),
                                                  Shape{1, 8, 8}, 3);
  Model fused(spec, 4, 1), plain(spec, 4, 1, false);
  ASSERT_LT(fused.layers().size(), plain.layers().size());
  fused.initialize(1);
  plain.initialize(1);
  Tensor input(Shape{4, 1, 8, 8});
  testing::fill_uniform(input, 2);
  PassContext ctx;
  ctx.seed = 5;
  ctx.step = 7;
  const Tensor& a = fused.forward(input, ctx);
  const std::vector<float> logits(a.data(), a.data() + a.numel());
  const Tensor& b = plain.forward(input, ctx);
  EXPECT_EQ(0, std::memcmp(logits.data(), b.data(), logits.size() * sizeof(float)));
}

// Note [Fused residual add]: resnet20 with its adds folded into the batch norms trains the
// bits of the separate layers: logits, every parameter gradient and the running statistics, in
// two training steps. (Inference folds batch norms into convolutions: the test below.)
TEST(ModelGraph, ResidualAddsFoldedIntoBatchNormGiveTheSameBits) {
  const ModelSpec spec = builtin_model("resnet20", Shape{2, 12, 12}, 5);
  Model fused(spec, 16, 2), plain(spec, 16, 2, false);
  int folded = 0;
  for (const LayerInfo& l : fused.layers()) folded += l.description.find("+ add + relu") != std::string::npos;
  EXPECT_EQ(folded, 9);  // every block; the two with a padded shortcut move after it
  fused.initialize(3);
  plain.initialize(3);
  Tensor input(Shape{16, 2, 12, 12}), grad(Shape{16, 5});
  testing::fill_uniform(input, 4);
  testing::fill_uniform(grad, 5);
  PassContext ctx;
  ctx.threads = 2;
  for (int step = 0; step < 2; ++step) {
    const Tensor& a = fused.forward(input, ctx);
    const std::vector<float> logits(a.data(), a.data() + a.numel());
    const Tensor& b = plain.forward(input, ctx);
    ASSERT_EQ(0, std::memcmp(logits.data(), b.data(), logits.size() * sizeof(float))) << "step " << step;
    fused.backward(grad, ctx);
    plain.backward(grad, ctx);
    ASSERT_EQ(0, std::memcmp(fused.gradients(), plain.gradients(), fused.parameter_count() * sizeof(float)));
    ASSERT_EQ(0, std::memcmp(fused.buffers(), plain.buffers(), fused.buffer_count() * sizeof(float)));
    for (int64_t i = 0; i < fused.parameter_count(); ++i) {
      fused.parameters()[i] -= 0.1f * fused.gradients()[i];
      plain.parameters()[i] -= 0.1f * plain.gradients()[i];
    }
  }
}

// Note [Folded batch norm]: inference with each batch norm folded into its convolution gives
// the separate layers' logits to rounding, on resnet20 and on a branched graph (a convolution
// read by two layers keeps its batch norm); training after such an inference has the same bits
// as training without it.
TEST(ModelGraph, BatchNormFoldedForInferenceMatchesTheSeparateLayers) {
  // c1+n1 and c3+n3 fold; c2 has two readers; n4 takes the add (Note [Fused residual add]).
  const ModelSpec branched = spec_of(R"({"name": "b", "layers": [
      {"type": "conv2d", "name": "c1", "options": {"out_channels": 6, "padding": 1}},
      {"type": "batch_norm", "name": "n1"}, {"type": "relu", "name": "r1"},
      {"type": "conv2d", "name": "c2", "options": {"out_channels": 6, "padding": 1, "bias": false}},
      {"type": "batch_norm", "name": "n2"},
      {"type": "conv2d", "name": "c3", "inputs": ["r1"], "options": {"out_channels": 4, "kernel": 1}},
      {"type": "batch_norm", "name": "n3"},
      {"type": "concat", "name": "join", "inputs": ["n2", "n3", "c2"]},
      {"type": "conv2d", "name": "c4", "inputs": ["r1"], "options": {"out_channels": 16, "kernel": 1}},
      {"type": "batch_norm", "name": "n4"},
      {"type": "add", "name": "sum", "inputs": ["n4", "join"]},
      {"type": "global_avg_pool2d", "name": "gap"}, {"type": "dense", "name": "fc", "options": {"units": 3}}]})");
  struct Case {
    ModelSpec spec;
    int folds;
  };
  const Case cases[] = {{builtin_model("resnet20", Shape{2, 8, 8}, 3), 10}, {branched, 2}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.spec.name);
    const Shape& in = c.spec.input;
    Model folded(c.spec, 16, 2), plain(c.spec, 16, 2, false), control(c.spec, 16, 2);
    int folds = 0;
    std::string described;
    for (const LayerInfo& l : folded.layers()) {
      folds += l.description.find("folded") != std::string::npos;
      described += l.name + ": " + l.description + "\n";
    }
    EXPECT_EQ(folds, c.folds) << described;
    // Biases and batch-norm weights away from their initial 0 and 1, so that each term of the
    // fold shows (a convolution's bias gets no gradient through a batch norm).
    for (Model* m : {&folded, &plain, &control}) {
      m->initialize(7);
      for (NamedTensor& t : m->named_tensors())
        for (int64_t i = 0; !t.buffer && t.shape.rank() == 1 && i < t.shape.numel(); ++i)
          t.data[i] = 0.5f + random_uniform(11, RandomPurpose::init, 99, i);
    }
    Tensor input(Shape{16, in[0], in[1], in[2]}), grad(Shape{16, 3});
    testing::fill_uniform(input, 8);
    testing::fill_uniform(grad, 9);
    PassContext train, infer;
    train.threads = infer.threads = 2;
    infer.training = false;
    const auto step = [&](Model& m) {
      m.forward(input, train);
      m.backward(grad, train);
      for (int64_t i = 0; i < m.parameter_count(); ++i) m.parameters()[i] -= 0.05f * m.gradients()[i];
    };
    for (Model* m : {&folded, &plain, &control}) step(*m), step(*m);  // running statistics move
    const Tensor& a = folded.forward(input, infer);
    const std::vector<float> logits(a.data(), a.data() + a.numel());
    const Tensor& b = plain.forward(input, infer);
    float largest = 0.0f;
    for (int64_t i = 0; i < b.numel(); ++i) largest = std::max(largest, std::abs(b[i]));
    for (int64_t i = 0; i < b.numel(); ++i) ASSERT_NEAR(logits[i], b[i], 1e-5f * largest) << "logit " << i;
    step(folded);
    step(control);
    EXPECT_EQ(0, std::memcmp(folded.parameters(), control.parameters(), folded.parameter_count() * sizeof(float)));
    EXPECT_EQ(0, std::memcmp(folded.buffers(), control.buffers(), folded.buffer_count() * sizeof(float)));
  }
}

// The model-file example of core/README.md (a residual add and a concat) parses and builds.
TEST(ModelGraph, ReadmeBranchExampleBuilds) {
  std::ifstream readme(std::string(CONVOY_SOURCE_DIR) + "/core/README.md");
  ASSERT_TRUE(readme.good());
  const std::string text((std::istreambuf_iterator<char>(readme)), std::istreambuf_iterator<char>());
  const size_t start = text.find("```json\n");
  ASSERT_NE(start, std::string::npos) << "no JSON example in core/README.md";
  const size_t end = text.find("```", start + 8);
  // As --model reads a file: "classes" in an option becomes the class count.
  const ModelSpec spec =
      ModelSpec::from_template(nlohmann::json::parse(text.substr(start + 8, end - start - 8)), Shape{1, 28, 28}, 10);
  const Model model(spec, 2, 1);
  EXPECT_EQ(model.spec().layers.size(), 11u);
  bool joined = false;
  for (const LayerInfo& l : model.layers())
    if (l.name == "join") {
      EXPECT_EQ(l.output, (Shape{2, 24, 28, 28}));
      joined = true;
    }
  EXPECT_TRUE(joined);
  EXPECT_EQ(model.layers().back().output, (Shape{2, 10}));
}

}  // namespace
}  // namespace convoy
