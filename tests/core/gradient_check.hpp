// Finite-difference gradient checking for layers (the test every layer's backward must pass) and whole models.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/layer.hpp"
#include "core/model.hpp"

namespace convoy::testing {

// Fills a tensor with uniform values in [lo, hi) from the counter-based RNG.
void fill_uniform(Tensor& t, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

// A layer bound to its own parameter and gradient tensors, with scratch, for tests.
struct BoundLayer {
  std::vector<Shape> input_shapes;
  Shape output_shape;
  std::vector<Tensor> parameters, gradients, buffers;  // buffers start at their BufferSpec::init
  std::vector<float> scratch;

  BoundLayer(Layer& layer, std::vector<Shape> inputs, int threads, uint64_t seed);
  PassContext context(int threads);
};

struct GradientCheckOptions {
  float epsilon = 1e-2f;     // central-difference step
  float rtol = 5e-3f;        // |analytic - numeric| <= atol + rtol * max(|analytic|, |numeric|)
  float atol = 1e-3f;
  int threads = 1;
  int64_t max_probes = 400;  // elements probed per tensor (spread over the tensor)
  uint64_t seed = 1;
  // Makes inputs for the layer (e.g. away from kinks); default uniform in [-1, 1).
  std::function<void(std::vector<Tensor>&)> make_inputs;
  // check_layer_contract only: false skips the finite differences, for a layer whose kinks no
  // input can avoid (batch norm + a fused ReLU: every input moves every output); such a layer
  // is checked bitwise against its parts instead.
  bool finite_differences = true;
};

// Checks d(sum(output * R))/d(input and every parameter) of `layer` against central
// differences, with R random. Returns an empty string on success, else a description of the
// worst mismatches (used as the failure message).
std::string check_gradients(Layer& layer, const std::vector<Shape>& inputs, const GradientCheckOptions& options = {});

// The checks every layer's test runs on `make()`'s layer (Note [Layer contract]): forward's
// output has output_shape's shape; check_gradients; 1 and 2 threads give the same bits in
// forward, input gradients and parameter gradients; backward overwrites input gradients that
// start as garbage and adds into parameter gradients that start at 1. Returns "" or the
// failures. options.threads is ignored.
std::string check_layer_contract(const std::function<std::unique_ptr<Layer>()>& make, const std::vector<Shape>& inputs,
                                 const GradientCheckOptions& options = {});

struct ModelGradientOptions {
  int64_t stride = 3;      // probe every stride-th parameter of each layer
  float epsilon = 1e-2f;   // central-difference step
  double atol = 1e-3;      // |analytic - numeric| <= atol + rtol * |numeric|
  double rtol = 1e-2;
  int max_failures = 5;    // mismatches reported before the check gives up
};

// The whole model's parameter gradients of the mean softmax cross-entropy of `input` against
// `labels`, from one backward pass, against central differences of the loss (each probe runs
// forward twice with ctx). Returns "" or the mismatches, each naming the layer and parameter;
// `probed` gets how many parameters were compared.
std::string check_model_gradients(Model& model, const Tensor& input, const std::vector<int32_t>& labels,
                                  const PassContext& ctx, const ModelGradientOptions& options, int64_t& probed);

}  // namespace convoy::testing
