#include "core/model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <sstream>

#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/layer_factory.hpp"
#include "core/rng.hpp"

namespace convoy {
namespace {

constexpr int64_t kAlignFloats = 16;  // 64 bytes

int64_t align_up(int64_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

struct Model::Node {
  std::unique_ptr<Layer> layer;
  std::vector<int> inputs;  // node indices; -1 is the model input
  int consumers = 0;
  Shape output_shape;       // at max batch
  Tensor activation;        // [max_batch, ...]
  Tensor gradient;          // [max_batch, ...], d loss / d activation
  std::vector<ParameterSpec> parameter_specs;
  std::vector<int64_t> parameter_offsets;
  std::vector<Tensor> input_views, input_grad_views;  // reused every pass: no allocation
  Tensor output_view;
};

Model::Model(const ModelSpec& spec, int64_t max_batch, int threads, bool fuse)
    : spec_(spec), max_batch_(max_batch), threads_(std::max(threads, 1)) {
  CONVOY_CHECK(max_batch > 0, ConfigError, "model ", spec.name, ": batch size must be positive, found ", max_batch);
  CONVOY_CHECK(spec.input.rank() == 3, ShapeError, "model ", spec.name, ": input must be [C, H, W], found ",
               spec.input.str());
  CONVOY_CHECK(!spec.layers.empty(), ConfigError, "model ", spec.name, ": has no layers");
  const Shape input_shape{max_batch, spec.input[0], spec.input[1], spec.input[2]};

  // How many layers read each layer's output (an empty input list reads the previous layer).
  std::map<std::string, int> readers;
  for (size_t i = 0; i < spec.layers.size(); ++i) {
    if (spec.layers[i].inputs.empty()) {
      if (i > 0) ++readers[spec.layers[i - 1].name];
    } else {
      for (const std::string& in : spec.layers[i].inputs) ++readers[in];
    }
  }

  std::map<std::string, int> index_of;
  int64_t offset = 0, scratch = 0, largest_activation = 0;
  for (const LayerSpec& ls : spec.layers) {
    CONVOY_CHECK(!index_of.count(ls.name), ConfigError, "model ", spec.name, ": two layers are named '", ls.name, "'");
    // Built first even when it is then fused away, so its options are checked all the same.
    std::unique_ptr<Layer> layer = make_layer(ls);
    // Note [Fused ReLU]: a ReLU that is the only reader of the layer before it becomes part of
    // that layer, if the layer can apply it (convolutions can); later layers read that layer.
    // Fusing needs this layer's one input to be the last node built (maybe under the name of a
    // layer fused into it) and this layer to be its only reader.
    const std::string input_name = ls.inputs.empty() ? (&ls == &spec.layers.front() ? "" : (&ls - 1)->name)
                                                     : ls.inputs.front();
    const bool reads_last_node = !nodes_.empty() && ls.inputs.size() <= 1 && index_of.count(input_name) &&
                                 index_of[input_name] == static_cast<int>(nodes_.size()) - 1 &&
                                 readers[input_name] == 1;
    if (fuse && reads_last_node) {
      const auto option = [&](const char* key, const nlohmann::json& fallback) {
        return ls.options.is_object() && ls.options.contains(key) ? ls.options.at(key) : fallback;
      };
      // Note [Fused pooling]: a 2x2 stride-2 max pool after a fused ReLU.
      const bool pool_2x2 = ls.type == "max_pool2d" && option("window", 2) == 2 && option("padding", 0) == 0 &&
                            (option("stride", 0) == 0 || option("stride", 0) == 2) && option("ceil_mode", false) == false;
      if ((ls.type == "relu" && ls.options.empty() && nodes_.back()->layer->fuse_activation("relu")) ||
          (pool_2x2 && nodes_.back()->layer->fuse_activation("max_pool2d_2x2"))) {
        // The fused layer's output shape changed (pooling): plan its buffers again.
        Node& last = *nodes_.back();
        const Shape in = last.inputs[0] < 0 ? input_shape : nodes_[last.inputs[0]]->output_shape;
        last.output_shape = last.layer->output_shape(std::vector<Shape>{in});
        last.activation = Tensor(last.output_shape);
        last.gradient = Tensor(last.output_shape);
        scratch = std::max(scratch, last.layer->scratch_floats(std::vector<Shape>{in}, threads_));
        index_of[ls.name] = static_cast<int>(nodes_.size()) - 1;
        info_.back().description = last.layer->describe();
        info_.back().output = last.output_shape;
        continue;
      }
    }
    auto node = std::make_unique<Node>();
    const int index = static_cast<int>(nodes_.size());
    node->layer = std::move(layer);
    if (ls.inputs.empty()) {
      node->inputs.push_back(index - 1);
    } else {
      for (const std::string& in : ls.inputs) {
        CONVOY_CHECK(index_of.count(in), ConfigError, "layer '", ls.name, "': input '", in,
                     "' is not an earlier layer");
        node->inputs.push_back(index_of[in]);
      }
    }
    std::vector<Shape> in_shapes;
    for (int i : node->inputs) {
      in_shapes.push_back(i < 0 ? input_shape : nodes_[i]->output_shape);
      if (i >= 0) ++nodes_[i]->consumers;
    }
    try {
      node->output_shape = node->layer->output_shape(in_shapes);
      node->parameter_specs = node->layer->parameter_specs(in_shapes);
      scratch = std::max(scratch, node->layer->scratch_floats(in_shapes, threads_));
    } catch (const ShapeError& e) {
      throw ShapeError("layer '" + ls.name + "': " + e.what());
    }
    LayerInfo info{ls.name, node->layer->describe(), node->output_shape, 0, offset,
                   node->layer->forward_flops(in_shapes)};
    for (const ParameterSpec& p : node->parameter_specs) {
      node->parameter_offsets.push_back(offset);
      info.parameters += p.shape.numel();
      offset += align_up(p.shape.numel());
    }
    node->activation = Tensor(node->output_shape);
    node->gradient = Tensor(node->output_shape);
    largest_activation = std::max(largest_activation, node->output_shape.numel());
    node->input_views.resize(node->inputs.size());
    node->input_grad_views.resize(node->inputs.size());
    index_of[ls.name] = index;
    info_.push_back(info);
    nodes_.push_back(std::move(node));
  }
  const Shape& last = nodes_.back()->output_shape;
  CONVOY_CHECK(last.rank() == 2 && last[1] == spec.classes, ShapeError, "model ", spec.name,
               ": the last layer must output [N, ", spec.classes, "] for ", spec.classes, " classes, found ",
               last.str());

  parameter_count_ = offset;
  parameters_ = allocate_aligned(parameter_count_);
  gradients_ = allocate_aligned(parameter_count_);
  scratch_ = allocate_aligned(scratch);
  fanout_grad_ = allocate_aligned(largest_activation);
  grad_written_.assign(nodes_.size(), 0);
  for (auto& node : nodes_) {
    std::vector<Tensor> params, grads;
    for (size_t p = 0; p < node->parameter_specs.size(); ++p) {
      params.push_back(Tensor::view(parameters_.get() + node->parameter_offsets[p], node->parameter_specs[p].shape));
      grads.push_back(Tensor::view(gradients_.get() + node->parameter_offsets[p], node->parameter_specs[p].shape));
    }
    node->layer->bind_parameters(params, grads);
  }
  forward_seconds_.assign(nodes_.size(), 0.0);
  backward_seconds_.assign(nodes_.size(), 0.0);
}

Model::~Model() = default;

void Model::initialize(uint64_t seed) {
  std::fill(parameters_.get(), parameters_.get() + parameter_count_, 0.0f);
  uint64_t parameter_index = 0;
  for (auto& node : nodes_) {
    for (size_t p = 0; p < node->parameter_specs.size(); ++p, ++parameter_index) {
      const ParameterSpec& spec = node->parameter_specs[p];
      float* data = parameters_.get() + node->parameter_offsets[p];
      const int64_t n = spec.shape.numel();
      for (int64_t i = 0; i < n; ++i) {
        const auto e = static_cast<uint64_t>(i);
        switch (spec.init) {
          case Init::zeros: data[i] = 0.0f; break;
          case Init::ones: data[i] = 1.0f; break;
          case Init::he_normal:
            data[i] = std::sqrt(2.0f / static_cast<float>(spec.fan_in)) *
                      random_normal(seed, RandomPurpose::init, parameter_index, e);
            break;
          case Init::glorot_uniform: {
            const float limit = std::sqrt(6.0f / static_cast<float>(spec.fan_in + spec.fan_out));
            data[i] = limit * (2.0f * random_uniform(seed, RandomPurpose::init, parameter_index, e) - 1.0f);
            break;
          }
        }
      }
    }
  }
}

uint64_t Model::fingerprint() const {
  uint64_t h = fnv1a(spec_.to_json().dump());
  for (const auto& node : nodes_)
    for (const ParameterSpec& p : node->parameter_specs) h = fnv1a(p.shape.str(), h);
  return h;
}

std::string Model::summary() const {
  std::ostringstream out;
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %-36s %-20s %10s\n", "layer", "type", "output", "params");
  out << line;
  int64_t total = 0;
  for (const LayerInfo& l : info_) {
    std::snprintf(line, sizeof line, "%-14s %-36s %-20s %10lld\n", l.name.c_str(), l.description.c_str(),
                  l.output.with_batch(1).str().c_str(), static_cast<long long>(l.parameters));
    out << line;
    total += l.parameters;
  }
  out << "model " << spec_.name << ": " << info_.size() << " layers, " << total << " parameters, input "
      << spec_.input.str() << ", " << spec_.classes << " classes";
  return out.str();
}

void Model::set_profiling(bool on) {
  profiling_ = on;
  std::fill(forward_seconds_.begin(), forward_seconds_.end(), 0.0);
  std::fill(backward_seconds_.begin(), backward_seconds_.end(), 0.0);
}

const Tensor& Model::forward(const Tensor& input, const PassContext& ctx) {
  const int64_t n = input.shape()[0];
  CONVOY_CHECK(input.shape().rank() == 4 && n > 0 && n <= max_batch_ &&
                   input.shape() == Shape({n, spec_.input[0], spec_.input[1], spec_.input[2]}),
               ShapeError, "model ", spec_.name, ": expected input [n <= ", max_batch_, ", ", spec_.input[0], ", ",
               spec_.input[1], ", ", spec_.input[2], "], found ", input.shape().str());
  PassContext layer_ctx = ctx;
  layer_ctx.threads = std::min(ctx.threads, threads_);
  layer_ctx.scratch = scratch_.get();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& node = *nodes_[i];
    for (size_t j = 0; j < node.inputs.size(); ++j) {
      const int from = node.inputs[j];
      node.input_views[j] = from < 0 ? input : nodes_[from]->output_view;
    }
    node.output_view = Tensor::view(node.activation.data(), node.output_shape.with_batch(n));
    layer_ctx.layer_index = static_cast<int>(i);
    const auto t0 = std::chrono::steady_clock::now();
    node.layer->forward(node.input_views, node.output_view, layer_ctx);
    if (profiling_) forward_seconds_[i] += seconds_since(t0);
  }
  output_ = nodes_.back()->output_view;
  return output_;
}

void Model::backward(const Tensor& output_grad, const PassContext& ctx,
                     const std::function<void(int64_t)>& gradients_ready) {
  CONVOY_ASSERT(output_grad.shape() == output_.shape(), "output_grad ", output_grad.shape().str(), " vs output ",
                output_.shape().str());
  const int64_t n = output_grad.shape()[0];
  std::fill(gradients_.get(), gradients_.get() + parameter_count_, 0.0f);
  std::fill(grad_written_.begin(), grad_written_.end(), 0);
  PassContext layer_ctx = ctx;
  layer_ctx.threads = std::min(ctx.threads, threads_);
  layer_ctx.scratch = scratch_.get();
  int64_t final_from = parameter_count_;
  for (int i = static_cast<int>(nodes_.size()) - 1; i >= 0; --i) {
    Node& node = *nodes_[i];
    const Tensor node_grad = i + 1 == static_cast<int>(nodes_.size())
                                 ? output_grad
                                 : Tensor::view(node.gradient.data(), node.output_shape.with_batch(n));
    // Note: a node read by several layers (fan-out) gets the sum of their input gradients: the
    // first writer overwrites its buffer, later ones write to fanout_grad_ and add.
    int fanout_from = -1;
    for (size_t j = 0; j < node.inputs.size(); ++j) {
      const int from = node.inputs[j];
      if (from < 0) {
        node.input_grad_views[j] = Tensor();
      } else if (!grad_written_[from]) {
        node.input_grad_views[j] = Tensor::view(nodes_[from]->gradient.data(), nodes_[from]->output_view.shape());
        grad_written_[from] = 1;
      } else {
        CONVOY_CHECK(fanout_from < 0, ConfigError, "layer '", info_[i].name,
                     "': reads two inputs that are also read by later layers; not supported yet");
        node.input_grad_views[j] = Tensor::view(fanout_grad_.get(), nodes_[from]->output_view.shape());
        fanout_from = from;
      }
    }
    layer_ctx.layer_index = i;
    const auto t0 = std::chrono::steady_clock::now();
    node.layer->backward(node.input_views, node.output_view, node_grad, node.input_grad_views, layer_ctx);
    if (profiling_) backward_seconds_[i] += seconds_since(t0);
    if (fanout_from >= 0) {
      float* dst = nodes_[fanout_from]->gradient.data();
      const float* extra = fanout_grad_.get();
      const int64_t count = nodes_[fanout_from]->output_view.numel();
      for (int64_t e = 0; e < count; ++e) dst[e] += extra[e];
    }
    if (!node.parameter_offsets.empty()) final_from = node.parameter_offsets.front();
    if (gradients_ready) gradients_ready(final_from);
  }
}

}  // namespace convoy
