#include "tests/core/gradient_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "core/rng.hpp"
#include "core/softmax_cross_entropy.hpp"

namespace convoy::testing {

void fill_uniform(Tensor& t, uint64_t seed, float lo, float hi) {
  for (int64_t i = 0; i < t.numel(); ++i)
    t[i] = lo + (hi - lo) * random_uniform(seed, RandomPurpose::init, 999, static_cast<uint64_t>(i));
}

BoundLayer::BoundLayer(Layer& layer, std::vector<Shape> inputs, int threads, uint64_t seed)
    : input_shapes(std::move(inputs)) {
  output_shape = layer.output_shape(input_shapes);
  uint64_t s = seed;
  for (const ParameterSpec& spec : layer.parameter_specs(input_shapes)) {
    parameters.emplace_back(spec.shape);
    fill_uniform(parameters.back(), ++s * 7919, -0.5f, 0.5f);
    gradients.emplace_back(spec.shape);
  }
  layer.bind_parameters(parameters, gradients);
  for (const BufferSpec& spec : layer.buffer_specs(input_shapes)) {
    buffers.emplace_back(spec.shape);
    buffers.back().fill(spec.init);
  }
  layer.bind_buffers(buffers);
  scratch.assign(static_cast<size_t>(layer.scratch_floats(input_shapes, threads)) + 16, 0.0f);
}

PassContext BoundLayer::context(int threads) {
  PassContext ctx;
  ctx.threads = threads;
  ctx.scratch = scratch.data();
  ctx.scratch_floats = static_cast<int64_t>(scratch.size());
  return ctx;
}

namespace {

double weighted_sum(const Tensor& output, const Tensor& weights) {
  double s = 0.0;
  for (int64_t i = 0; i < output.numel(); ++i) s += static_cast<double>(output[i]) * weights[i];
  return s;
}

}  // namespace

std::string check_gradients(Layer& layer, const std::vector<Shape>& input_shapes,
                            const GradientCheckOptions& options) {
  BoundLayer bound(layer, input_shapes, options.threads, options.seed);
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < input_shapes.size(); ++i) {
    inputs.emplace_back(input_shapes[i]);
    fill_uniform(inputs.back(), options.seed * 31 + i);
  }
  if (options.make_inputs) options.make_inputs(inputs);
  Tensor output(bound.output_shape), weights(bound.output_shape);
  fill_uniform(weights, options.seed * 17 + 5);
  const PassContext ctx = bound.context(options.threads);

  layer.forward(inputs, output, ctx);
  std::vector<Tensor> input_grads;
  for (const Shape& s : input_shapes) input_grads.emplace_back(s);
  for (Tensor& g : bound.gradients) g.fill(0.0f);
  layer.backward(inputs, output, weights, input_grads, ctx);

  std::ostringstream failures;
  int failure_count = 0;
  auto probe = [&](const std::string& what, Tensor& variable, const Tensor& analytic) {
    const int64_t n = variable.numel();
    const int64_t stride = std::max<int64_t>(1, n / options.max_probes);
    for (int64_t i = 0; i < n; i += stride) {
      const float saved = variable[i];
      variable[i] = saved + options.epsilon;
      layer.forward(inputs, output, ctx);
      const double plus = weighted_sum(output, weights);
      variable[i] = saved - options.epsilon;
      layer.forward(inputs, output, ctx);
      const double minus = weighted_sum(output, weights);
      variable[i] = saved;
      const double numeric = (plus - minus) / (2.0 * options.epsilon);
      const double a = analytic[i];
      if (std::abs(a - numeric) > options.atol + options.rtol * std::max(std::abs(a), std::abs(numeric))) {
        if (++failure_count <= 5)
          failures << what << "[" << i << "]: analytic " << a << " vs numeric " << numeric << "; ";
      }
    }
  };
  for (size_t i = 0; i < inputs.size(); ++i) probe("input" + std::to_string(i), inputs[i], input_grads[i]);
  for (size_t p = 0; p < bound.parameters.size(); ++p)
    probe("parameter" + std::to_string(p), bound.parameters[p], bound.gradients[p]);
  if (failure_count == 0) return "";
  return layer.describe() + ": " + std::to_string(failure_count) + " mismatches: " + failures.str();
}

namespace {

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() && std::memcmp(a.data(), b.data(), a.numel() * sizeof(float)) == 0;
}

// One forward and backward of a fresh layer from make() at `threads`, with the parameter
// gradients starting at `grad_start` and the input gradients at `input_grad_start`.
struct ContractRun {
  std::unique_ptr<Layer> layer;
  std::unique_ptr<BoundLayer> bound;
  Tensor output;
  std::vector<Tensor> input_grads;
};

ContractRun run_once(const std::function<std::unique_ptr<Layer>()>& make, const std::vector<Shape>& shapes,
                     const GradientCheckOptions& options, int threads, float grad_start, float input_grad_start) {
  ContractRun run;
  run.layer = make();
  run.bound = std::make_unique<BoundLayer>(*run.layer, shapes, threads, options.seed);
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    inputs.emplace_back(shapes[i]);
    fill_uniform(inputs.back(), options.seed * 31 + i);
  }
  if (options.make_inputs) options.make_inputs(inputs);
  run.output = Tensor(run.bound->output_shape);
  Tensor output_grad(run.bound->output_shape);
  fill_uniform(output_grad, options.seed * 17 + 5);
  const PassContext ctx = run.bound->context(threads);
  run.layer->forward(inputs, run.output, ctx);
  for (const Shape& s : shapes) {
    run.input_grads.emplace_back(s);
    run.input_grads.back().fill(input_grad_start);
  }
  for (Tensor& g : run.bound->gradients) g.fill(grad_start);
  run.layer->backward(inputs, run.output, output_grad, run.input_grads, ctx);
  return run;
}

}  // namespace

std::string check_layer_contract(const std::function<std::unique_ptr<Layer>()>& make, const std::vector<Shape>& inputs,
                                 const GradientCheckOptions& options) {
  std::string failures;
  if (options.finite_differences) {
    std::unique_ptr<Layer> layer = make();
    GradientCheckOptions one = options;
    one.threads = 1;
    failures += check_gradients(*layer, inputs, one);
  }
  const ContractRun base = run_once(make, inputs, options, 1, 0.0f, 0.0f);
  if (base.output.shape() != base.layer->output_shape(inputs)) failures += "output shape differs; ";
  const ContractRun two = run_once(make, inputs, options, 2, 0.0f, 0.0f);
  const ContractRun garbage = run_once(make, inputs, options, 1, 1.0f, std::nanf(""));
  if (!same_bits(base.output, two.output)) failures += "forward differs with 2 threads; ";
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!same_bits(base.input_grads[i], two.input_grads[i]))
      failures += "input gradient " + std::to_string(i) + " differs with 2 threads; ";
    if (!same_bits(base.input_grads[i], garbage.input_grads[i]))
      failures += "input gradient " + std::to_string(i) + " not overwritten; ";
  }
  for (size_t p = 0; p < base.bound->gradients.size(); ++p) {
    if (!same_bits(base.bound->gradients[p], two.bound->gradients[p]))
      failures += "parameter gradient " + std::to_string(p) + " differs with 2 threads; ";
    Tensor expected(base.bound->gradients[p].shape());
    for (int64_t e = 0; e < expected.numel(); ++e) expected[e] = 1.0f + base.bound->gradients[p][e];
    if (!same_bits(expected, garbage.bound->gradients[p]))
      failures += "parameter gradient " + std::to_string(p) + " not accumulated; ";
  }
  return failures;
}

std::string check_model_gradients(Model& model, const Tensor& input, const std::vector<int32_t>& labels,
                                  const PassContext& ctx, const ModelGradientOptions& options, int64_t& probed) {
  const auto n = static_cast<int64_t>(labels.size());
  const auto loss = [&] {
    return softmax_cross_entropy(model.forward(input, ctx), labels.data(), 1.0f, nullptr).loss_sum / n;
  };
  Tensor grad(Shape{n, model.spec().classes});
  softmax_cross_entropy(model.forward(input, ctx), labels.data(), 1.0f / n, &grad);
  model.backward(grad, ctx);
  const std::vector<float> analytic(model.gradients(), model.gradients() + model.parameter_count());
  std::ostringstream failures;
  int bad = 0;
  probed = 0;
  for (const LayerInfo& l : model.layers()) {
    for (int64_t i = l.parameter_offset; i < l.parameter_offset + l.parameters; i += options.stride) {
      float& p = model.parameters()[i];
      const float saved = p;
      p = saved + options.epsilon;
      const double plus = loss();
      p = saved - options.epsilon;
      const double minus = loss();
      p = saved;
      const double numeric = (plus - minus) / (2 * options.epsilon);
      ++probed;
      if (std::abs(analytic[i] - numeric) <= options.atol + options.rtol * std::abs(numeric)) continue;
      failures << l.name << " parameter " << i << ": analytic " << analytic[i] << ", numeric " << numeric << "\n";
      if (++bad >= options.max_failures) return failures.str();
    }
  }
  return failures.str();
}

}  // namespace convoy::testing
