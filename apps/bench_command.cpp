// convoy bench: like `caffe time`, per-layer forward/backward times and whole-step throughput,
// on random data in memory (no I/O), reporting medians over repeats.
#include "apps/commands.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "apps/cli_checks.hpp"
#include "apps/exit_codes.hpp"
#include "apps/runtime_info.hpp"
#include "apps/train_options.hpp"
#include "core/kernels/cpu_features.hpp"
#include "core/kernels/fma_peak.hpp"
#include "core/kernels/reference_shapes.hpp"
#include "core/model.hpp"
#include "core/optimizer.hpp"
#include "core/rng.hpp"
#include "core/softmax_cross_entropy.hpp"
#include "core/zoo.hpp"

namespace convoy {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchOptions {
  std::string model = "keras-cnn";
  int64_t batch = 64;
  int64_t inference_batch = 256;
  int threads = 0;
  int64_t steps = 50;
  int repeats = 5;
  bool shapes = false;
  bool layers = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void fill_random(Tensor& t, uint64_t seed) {
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = random_uniform(seed, RandomPurpose::augment, 0, i);
}

// Training step images/s (forward, loss, backward, SGD momentum) and inference images/s.
void bench_model(const BenchOptions& o, int threads) {
  const ModelSpec spec = builtin_model(o.model, Shape{1, 28, 28}, 10);
  Model model(spec, std::max(o.batch, o.inference_batch), threads);
  model.initialize(1);
  auto optimizer = make_optimizer({.type = "sgd", .momentum = 0.9f}, model.parameter_count());
  Tensor images(Shape{o.batch, 1, 28, 28}), grad(Shape{o.batch, 10});
  fill_random(images, 2);
  std::vector<int32_t> labels(o.batch);
  for (int64_t i = 0; i < o.batch; ++i) labels[i] = static_cast<int32_t>(i % 10);
  PassContext ctx;
  ctx.threads = threads;
  auto step = [&] {
    const Tensor& logits = model.forward(images, ctx);
    softmax_cross_entropy(logits, labels.data(), 1.0f / o.batch, &grad);
    model.backward(grad, ctx);
    optimizer->step(model.parameters(), model.gradients(), 0.01f);
  };
  for (int i = 0; i < 5; ++i) step();  // warm up: page faults, packing buffers
  std::vector<double> train_rates, infer_rates;
  for (int r = 0; r < o.repeats; ++r) {
    const auto t0 = Clock::now();
    for (int64_t s = 0; s < o.steps; ++s) step();
    train_rates.push_back(o.batch * o.steps / std::chrono::duration<double>(Clock::now() - t0).count());
  }
  Tensor big(Shape{o.inference_batch, 1, 28, 28});
  fill_random(big, 3);
  ctx.training = false;
  model.forward(big, ctx);
  const int64_t infer_steps = std::max<int64_t>(1, o.steps * o.batch / o.inference_batch);
  for (int r = 0; r < o.repeats; ++r) {
    const auto t0 = Clock::now();
    for (int64_t s = 0; s < infer_steps; ++s) model.forward(big, ctx);
    infer_rates.push_back(o.inference_batch * infer_steps / std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::printf("model %s threads %d: train %.0f images/s (batch %lld), inference %.0f images/s (batch %lld)\n",
              o.model.c_str(), threads, median(train_rates), static_cast<long long>(o.batch), median(infer_rates),
              static_cast<long long>(o.inference_batch));
  if (o.layers) {
    ctx.training = true;
    model.set_profiling(true);
    for (int64_t s = 0; s < o.steps; ++s) step();
    // Columns as wide as the longest name and description (fused layers describe themselves at length).
    int name_width = 5, type_width = 4;
    for (const LayerInfo& l : model.layers()) {
      name_width = std::max(name_width, static_cast<int>(l.name.size()));
      type_width = std::max(type_width, static_cast<int>(l.description.size()));
    }
    std::printf("  %-*s  %-*s %10s %10s %9s\n", name_width, "layer", type_width, "type", "fwd ms", "bwd ms",
                "fwd GF/s");
    for (size_t i = 0; i < model.layers().size(); ++i) {
      const LayerInfo& l = model.layers()[i];
      const double f = model.forward_seconds()[i] / o.steps, b = model.backward_seconds()[i] / o.steps;
      const double flops = l.forward_flops * o.batch / model.max_batch();
      std::printf("  %-*s  %-*s %10.3f %10.3f %9.1f\n", name_width, l.name.c_str(), type_width, l.description.c_str(),
                  1e3 * f, 1e3 * b, f > 0 && flops > 0 ? flops / f / 1e9 : 0.0);
    }
    model.set_profiling(false);
  }
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
    const Conv2dKernelNames kernels = conv2d_kernel_names(g, threads);
    std::printf("  (%lld,%lld,%lld,%lld,%lld,%lld,%lld)  %7.1f %7.1f %7.1f %7.1f   %s / %s / %s\n",
                static_cast<long long>(s.batch), static_cast<long long>(s.in_channels), static_cast<long long>(s.in_h),
                static_cast<long long>(s.in_w), static_cast<long long>(s.out_channels), static_cast<long long>(s.kernel),
                static_cast<long long>(s.pad), flops / f / 1e9, flops / bd / 1e9, flops / bw / 1e9,
                3 * flops / (f + bd + bw) / 1e9, kernels.forward, kernels.backward_data, kernels.backward_weights);
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
  cmd->add_option("--model", o->model, "Built-in model")->capture_default_str();
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
  cmd->callback([o, &exit_code] {
    const int threads = o->threads > 0 ? o->threads : available_cores();
    if (o->shapes)
      bench_shapes(*o, threads);
    else
      bench_model(*o, threads);
    exit_code = kExitOk;
  });
}

}  // namespace convoy
