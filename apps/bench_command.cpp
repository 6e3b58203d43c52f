// convoy bench: like `caffe time`, per-layer forward/backward times and whole-step throughput,
// on random data in memory (no I/O), reporting medians over repeats.
#include "apps/commands.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/bandwidth_bench.hpp"
#include "apps/cli_checks.hpp"
#include "apps/data_sources.hpp"
#include "apps/exit_codes.hpp"
#include "apps/loader_bench.hpp"
#include "apps/runtime_info.hpp"
#include "apps/train_options.hpp"
#include "core/error.hpp"
#include "core/kernels/cpu_features.hpp"
#include "core/kernels/fma_peak.hpp"
#include "core/kernels/reference_shapes.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/rng.hpp"
#include "core/softmax_cross_entropy.hpp"

namespace convoy {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string model = "keras-cnn";
  std::string input;    // CxHxW; empty: the model's
  int64_t classes = 0;  // 0: the model file's, else 10
  int64_t batch = 64;
  int64_t inference_batch = 256;
  int threads = 0;
  int64_t steps = 50;
  int repeats = 5;
  bool shapes = false;
  bool every_kernel = false;
  bool layers = false;
  std::string loader;  // a dataset: measure the loader alone
  bool bandwidth = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void fill_random(Tensor& t, uint64_t seed) {
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = random_uniform(seed, RandomPurpose::augment, 0, i);
}

// The benchmarked model: --input, else the sample shape the model names (a model file's input,
// a built-in model's example_input); --classes, else the model file's, else 10.
ModelSpec bench_spec(const BenchOptions& o) {
  DatasetInfo data;
  if (!o.input.empty()) {
    data.sample = parse_sample_shape(o.input, "--input");
  } else if (const std::optional<Shape> named = model_input_shape(o.model)) {
    data.sample = *named;
  } else {
    throw ConfigError("--input: model '" + o.model + "' names no input shape; expected --input CxHxW");
  }
  const int64_t file_classes = model_file_classes(o.model);
  data.classes = o.classes > 0 ? o.classes : file_classes > 0 ? file_classes : 10;
  return resolve_model(o.model, data);
}

// Median images/s of `steps` calls of `step` (each `batch` images), over o.repeats repeats.
template <typename Step>
double images_per_second(const BenchOptions& o, int64_t steps, int64_t batch, Step&& step) {
  std::vector<double> rates;
  for (int r = 0; r < o.repeats; ++r) {
    const auto t0 = Clock::now();
    for (int64_t s = 0; s < steps; ++s) step();
    rates.push_back(batch * steps / std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return median(rates);
}

// Per layer: forward and backward milliseconds of one training step, and forward GFLOP/s.
template <typename Step>
void print_layer_times(const BenchOptions& o, Model& model, Step&& step) {
  model.set_profiling(true);
  for (int64_t s = 0; s < o.steps; ++s) step();
  // Columns as wide as the longest name and description (fused layers describe themselves at length).
  int name_width = 5, type_width = 4;
  for (const LayerInfo& l : model.layers()) {
    name_width = std::max(name_width, static_cast<int>(l.name.size()));
    type_width = std::max(type_width, static_cast<int>(l.description.size()));
  }
  std::printf("  %-*s  %-*s %10s %10s %9s\n", name_width, "layer", type_width, "type", "fwd ms", "bwd ms", "fwd GF/s");
  for (size_t i = 0; i < model.layers().size(); ++i) {
    const LayerInfo& l = model.layers()[i];
    const double f = model.forward_seconds()[i] / o.steps, b = model.backward_seconds()[i] / o.steps;
    const double flops = l.forward_flops * o.batch / model.max_batch();
    std::printf("  %-*s  %-*s %10.3f %10.3f %9.1f\n", name_width, l.name.c_str(), type_width, l.description.c_str(),
                1e3 * f, 1e3 * b, f > 0 && flops > 0 ? flops / f / 1e9 : 0.0);
  }
  model.set_profiling(false);
}

// Training step images/s (forward, loss, backward, SGD momentum) and inference images/s.
void bench_model(const BenchOptions& o, int threads) {
  const ModelSpec spec = bench_spec(o);
  Model model(spec, std::max(o.batch, o.inference_batch), threads);
  model.initialize(1);
  auto optimizer = make_optimizer({.type = "sgd", .momentum = 0.9f}, model.parameter_count());
  const Shape& in = spec.input;
  Tensor images(Shape{o.batch, in[0], in[1], in[2]}), grad(Shape{o.batch, spec.classes});
  fill_random(images, 2);
  std::vector<int32_t> labels(o.batch);
  for (int64_t i = 0; i < o.batch; ++i) labels[i] = static_cast<int32_t>(i % spec.classes);
  PassContext ctx;
  ctx.threads = threads;
  auto step = [&] {
    const Tensor& logits = model.forward(images, ctx);
    softmax_cross_entropy(logits, labels.data(), 1.0f / o.batch, &grad);
    model.backward(grad, ctx);
    optimizer->step(model.parameters(), model.gradients(), 0.01f, threads);
  };
  for (int i = 0; i < 5; ++i) step();  // warm up: page faults, packing buffers
  const double train = images_per_second(o, o.steps, o.batch, step);
  Tensor big(Shape{o.inference_batch, in[0], in[1], in[2]});
  fill_random(big, 3);
  ctx.training = false;
  model.forward(big, ctx);
  const int64_t infer_steps = std::max<int64_t>(1, o.steps * o.batch / o.inference_batch);
  const double inference = images_per_second(o, infer_steps, o.inference_batch, [&] { model.forward(big, ctx); });
  std::printf("model %s (input %s, %lld classes) threads %d: train %.0f images/s (batch %lld), inference %.0f images/s "
              "(batch %lld)\n",
              o.model.c_str(), spec.input.str().c_str(), static_cast<long long>(spec.classes), threads, train,
              static_cast<long long>(o.batch), inference, static_cast<long long>(o.inference_batch));
  if (o.layers) {
    ctx.training = true;
    print_layer_times(o, model, step);
  }
}

// Every entry of a pass's table that accepts g (Note [Convolution implementation tables]), timed
// in turn within each repeat, so that a shared machine's drift falls on all of them alike:
// median GFLOP/s each.
template <typename Args>
void time_every_kernel(const BenchOptions& o, const char* pass, const Conv2dGeometry& g,
                       std::span<const Conv2dImpl<Args>> table, const Args& args, int threads) {
  std::vector<const Conv2dImpl<Args>*> accepting;
  int64_t scratch_floats = 1;
  for (const Conv2dImpl<Args>& impl : table)
    if (impl.accepts(g, threads)) {
      accepting.push_back(&impl);
      scratch_floats = std::max(scratch_floats, impl.scratch_floats(g, threads));
    }
  Tensor scratch(Shape{scratch_floats});
  std::vector<std::vector<double>> seconds(accepting.size());
  for (int r = -1; r < o.repeats; ++r)  // the first round warms up
    for (size_t k = 0; k < accepting.size(); ++k) {
      const auto t0 = Clock::now();
      accepting[k]->run(g, args, scratch.data(), threads);
      if (r >= 0) seconds[k].push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
  for (size_t k = 0; k < accepting.size(); ++k)
    std::printf("      %-17s %-15s %7.1f\n", pass, accepting[k]->name, g.forward_flops() / median(seconds[k]) / 1e9);
}

void bench_shapes(const BenchOptions& o, int threads) {
  double last_forward = 0.0;
  std::printf("conv shapes, %d thread%s, %s kernels: GFLOP/s (forward / backward-data / backward-weights / "
              "forward+backward), then each pass's kernel\n",
              threads, threads == 1 ? "" : "s", isa_name(active_isa()).c_str());
  for (const ReferenceConvShape& s : kReferenceConvShapes) {
    const Conv2dGeometry g = s.geometry();
    Tensor input(Shape{g.batch, g.in_channels, g.in_h, g.in_w});
    Tensor weight(Shape{g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}), bias(Shape{g.out_channels});
    Tensor output(Shape{g.batch, g.out_channels, g.out_h, g.out_w}), input_grad(input.shape()),
        weight_grad(weight.shape()), bias_grad(bias.shape());
    fill_random(input, 1);
    fill_random(weight, 2);
    fill_random(output, 3);
    Tensor scratch(Shape{conv2d_scratch_floats(g, threads)});
    const double flops = g.forward_flops();
    auto time = [&](auto&& body) {
      body();
      std::vector<double> t;
      for (int r = 0; r < o.repeats; ++r) {
        const auto t0 = Clock::now();
        body();
        t.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
      }
      return median(t);
    };
    const double f = time([&] {
      conv2d_forward(g, input.data(), weight.data(), bias.data(), output.data(), {scratch.data(), static_cast<size_t>(scratch.numel())}, threads);
    });
    const double bd = time([&] {
      conv2d_backward_data(g, nullptr, output.data(), weight.data(), input_grad.data(), {scratch.data(), static_cast<size_t>(scratch.numel())}, threads);
    });
    const double bw = time([&] {
      conv2d_backward_weights(g, input.data(), nullptr, output.data(), weight_grad.data(), bias_grad.data(), {scratch.data(), static_cast<size_t>(scratch.numel())},
                              threads);
    });
    const Conv2dChoice kernels = conv2d_choice(g, threads);
    // (N,Cin,H,W,Cout,K,pad), and the stride as an eighth value when it is not 1.
    std::string shape = "(";
    for (int64_t v : {s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, s.kernel, s.pad})
      shape += std::to_string(v) + ",";
    shape.back() = ')';
    if (s.stride != 1) shape.insert(shape.size() - 1, "," + std::to_string(s.stride));
    std::printf("  %-24s %7.1f %7.1f %7.1f %7.1f   %s / %s / %s\n", shape.c_str(), flops / f / 1e9, flops / bd / 1e9,
                flops / bw / 1e9, 3 * flops / (f + bd + bw) / 1e9, kernels.forward->name, kernels.backward_data->name,
                kernels.backward_weights->name);
    if (o.every_kernel) {
      time_every_kernel(o, "forward", g, conv2d_forward_impls(),
                        Conv2dForwardArgs{input.data(), weight.data(), bias.data(), output.data(), nullptr}, threads);
      time_every_kernel(o, "backward-data", g, conv2d_backward_data_impls(),
                        Conv2dBackwardDataArgs{nullptr, output.data(), weight.data(), input_grad.data(), nullptr},
                        threads);
      time_every_kernel(o, "backward-weights", g, conv2d_backward_weights_impls(),
                        Conv2dBackwardWeightsArgs{input.data(), nullptr, output.data(), weight_grad.data(),
                                                  bias_grad.data(), nullptr},
                        threads);
    }
    last_forward = flops / f / 1e9;
  }
  // The large shape (the last) set against what the cores can do at all, measured now.
  const double peak = measure_fma_peak(0.5);
  std::printf("FMA peak of one core, measured now: %.1f GFLOP/s; the large shape's forward per core: %.0f%% of it\n",
              peak, 100.0 * last_forward / threads / peak);
}

}  // namespace

void add_bench_command(CLI::App& app, int& exit_code) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure training/inference images/s and convolution GFLOP/s");
  cmd->add_option("--model", o->model, "Built-in model name or JSON model file")->capture_default_str();
  cmd->add_option("--input", o->input,
                  "One sample's shape, CxHxW (default: the model file's input, or the shape a built-in model was "
                  "designed for)");
  cmd->add_option("--classes", o->classes, "Classes the model outputs (default: the model file's, else 10)")
      ->check(integer_in(1, kMaxClasses));
  cmd->add_option("--batch", o->batch, "Training batch")->capture_default_str()->check(integer_in(1, kMaxBatch));
  cmd->add_option("--inference-batch", o->inference_batch, "Inference batch")
      ->capture_default_str()
      ->check(integer_in(1, kMaxBatch));
  cmd->add_option("--threads", o->threads, "Threads (default: the cores available)")->check(integer_in(1, kMaxThreads));
  cmd->add_option("--steps", o->steps, "Training steps per repeat")
      ->capture_default_str()
      ->check(integer_in(1, std::numeric_limits<int64_t>::max()));
  cmd->add_option("--repeats", o->repeats, "Repeats; the median is reported")
      ->capture_default_str()
      ->check(integer_in(1, std::numeric_limits<int>::max()));
  cmd->add_flag("--layers", o->layers, "Also print per-layer forward/backward times");
  cmd->add_flag("--shapes", o->shapes, "Benchmark the reference convolution shapes (core/kernels/reference_shapes.hpp) instead of a model");
  cmd->add_option("--loader", o->loader,
                  "Measure the data pipeline alone on this dataset (files as --data takes them): samples/s with the "
                  "images in memory and read from the files, batches of --batch, --repeats epochs");
  cmd->add_flag("--every-kernel", o->every_kernel,
                "With --shapes: also time every kernel each pass's table accepts for the shape, alternated")
      ->needs("--shapes");
  cmd->add_flag("--bandwidth", o->bandwidth, "Measure memory bandwidth (STREAM copy and triad) instead of a model");
  cmd->callback([o, &exit_code] {
    const int threads = o->threads > 0 ? o->threads : available_cores();
    if (o->bandwidth)
      bench_bandwidth(threads, o->repeats);
    else if (!o->loader.empty())
      bench_loader(o->loader, o->batch, o->repeats);
    else if (o->shapes)
      bench_shapes(*o, threads);
    else
      bench_model(*o, threads);
    exit_code = kExitOk;
  });
}

}  // namespace convoy
