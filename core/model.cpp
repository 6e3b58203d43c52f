#include "core/model.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <iomanip>
#include <sstream>

#include "core/alignment.hpp"
#include "core/error.hpp"
#include "core/hash.hpp"
#include "core/model_graph.hpp"
#include "core/rng.hpp"

namespace convoy {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

struct Model::Node {
  GraphNode graph;
  Tensor activation;          // [max_batch, ...]
  float* gradient = nullptr;  // [max_batch, ...], d loss / d activation, in the shared pool
  int gradient_slot = -1;     // Note [Gradient buffers]; -1: backward never reads one
  std::vector<ParameterSpec> parameter_specs;
  std::vector<int64_t> parameter_offsets;
  std::vector<BufferSpec> buffer_specs;
  std::vector<int64_t> buffer_offsets;
  // Per input, where backward writes its gradient (Note [Fan-out gradients]): kNoGradient (the
  // model input), kOverwrite (the producer's gradient buffer) or a fan-out slot k >= 0.
  std::vector<int> grad_target;
  std::vector<Tensor> input_views, input_grad_views;  // reused every pass: no allocation
  Tensor output_view;
};

namespace {
constexpr int kNoGradient = -2;
constexpr int kOverwrite = -1;
}  // namespace

Model::Model(const ModelSpec& spec, int64_t max_batch, int threads, bool fuse)
    : spec_(spec), max_batch_(max_batch), threads_(std::max(threads, 1)) {
  ModelGraph graph = build_graph(spec, max_batch);
  if (fuse) fuse_graph(graph);
  input_shape_ = graph.input;
  for (GraphNode& g : graph.nodes) {
    auto node = std::make_unique<Node>();
    node->graph = std::move(g);
    nodes_.push_back(std::move(node));
  }
  plan();
  bind_stores();
}

// Note [Fan-out gradients]
// A layer read by several layers (a residual block's input, an inception module's) gets the sum
// of their input gradients. Backward runs in reverse node order, so which reader comes first is
// known when the model is planned: the first overwrites the producer's gradient buffer, each
// later one writes into a fan-out slot and adds it in after its backward. A layer needs as many
// slots as it has inputs already written (Add(x, x) needs one), planned here once, each the size
// of the largest output that fans out (ResNet-18's at 64x64: a quarter of its stem's output).
// Note [Gradient buffers]
// A layer's output gradient is needed only from its last reader's backward (which overwrites
// it) to its own backward (which reads it): in a chain, two at a time. So gradients live in a
// pool of slots planned here: walking backward's order, each gradient takes a free slot (the
// smallest that fits, else the largest free one, grown) when its last reader runs, and frees it
// after its own backward. At a layer's step its own gradient and its inputs' are all live, so no
// two of them share a slot. A layer no one reads (not the last) keeps a zeroed slot of its own,
// as its backward reads zeros. The bits are unchanged: only where the gradients live.
void Model::plan_gradients() {
  const int count = static_cast<int>(nodes_.size());
  std::vector<int> last_reader(count, -1);
  for (int k = 0; k < count; ++k)
    for (int from : nodes_[k]->graph.inputs)
      if (from >= 0) last_reader[from] = std::max(last_reader[from], k);
  std::vector<int64_t> size;  // per slot, floats
  std::vector<char> busy;
  auto take = [&](Node& node) {
    const int64_t need = align_floats(node.graph.output_shape.numel());
    // A slot that fits beats one that does not; among those that fit the smallest, among the
    // others the largest (grown below).
    auto better = [&](int a, int b) {
      const bool a_fits = size[a] >= need, b_fits = size[b] >= need;
      if (a_fits != b_fits) return a_fits;
      return a_fits ? size[a] < size[b] : size[a] > size[b];
    };
    int best = -1;
    for (int s = 0; s < static_cast<int>(size.size()); ++s)
      if (!busy[s] && (best < 0 || better(s, best))) best = s;
    if (best < 0) {
      best = static_cast<int>(size.size());
      size.push_back(0);
      busy.push_back(0);
    }
    size[best] = std::max(size[best], need);
    busy[best] = 1;
    node.gradient_slot = best;
  };
  for (int i = 0; i + 1 < count; ++i)
    if (last_reader[i] < 0) take(*nodes_[i]);  // never freed: stays zero
  for (int k = count - 1; k >= 0; --k) {
    for (int from : nodes_[k]->graph.inputs)
      if (from >= 0 && last_reader[from] == k && nodes_[from]->gradient_slot < 0) take(*nodes_[from]);
    if (nodes_[k]->gradient_slot >= 0 && last_reader[k] >= 0) busy[nodes_[k]->gradient_slot] = 0;
  }
  gradient_slot_offsets_.assign(size.size() + 1, 0);
  for (size_t s = 0; s < size.size(); ++s) gradient_slot_offsets_[s + 1] = gradient_slot_offsets_[s] + size[s];
}

void Model::plan() {
  int64_t param_offset = 0, buffer_offset = 0;
  std::vector<char> written(nodes_.size(), 0);
  for (int i = static_cast<int>(nodes_.size()) - 1; i >= 0; --i) {
    Node& node = *nodes_[i];
    int slots = 0;
    node.grad_target.clear();
    for (int from : node.graph.inputs) {
      if (from < 0) {
        node.grad_target.push_back(kNoGradient);
      } else if (!written[from]) {
        node.grad_target.push_back(kOverwrite);
        written[from] = 1;
      } else {
        node.grad_target.push_back(slots++);
        fanout_floats_ = std::max(fanout_floats_, align_floats(nodes_[from]->graph.output_shape.numel()));
      }
    }
    fanout_slots_ = std::max(fanout_slots_, slots);
  }
  for (auto& node_ptr : nodes_) {
    Node& node = *node_ptr;
    const GraphNode& g = node.graph;
    node.parameter_specs = g.layer->parameter_specs(g.input_shapes);
    node.buffer_specs = g.layer->buffer_specs(g.input_shapes);
    scratch_floats_ = std::max(scratch_floats_, g.layer->scratch_floats(g.input_shapes, threads_));
    LayerInfo info{g.name, g.layer->describe(), g.layer->type(), {}, g.output_shape, 0, param_offset, 0,
                   g.layer->forward_flops(g.input_shapes)};
    for (int from : g.inputs)
      if (from >= 0) info.inputs.push_back(nodes_[from]->graph.name);
    for (const ParameterSpec& p : node.parameter_specs) {
      node.parameter_offsets.push_back(param_offset);
      info.parameters += p.shape.numel();
      param_offset += align_floats(p.shape.numel());
    }
    for (const BufferSpec& b : node.buffer_specs) {
      node.buffer_offsets.push_back(buffer_offset);
      info.buffers += b.shape.numel();
      buffer_offset += align_floats(b.shape.numel());
    }
    node.activation = Tensor(g.output_shape);
    node.input_views.resize(g.inputs.size());
    node.input_grad_views.resize(g.inputs.size());
    info_.push_back(std::move(info));
  }
  parameter_count_ = param_offset;
  buffer_count_ = buffer_offset;
  plan_gradients();
}

void Model::bind_stores() {
  parameters_ = allocate_aligned(parameter_count_);
  gradients_ = allocate_aligned(parameter_count_);
  buffers_ = allocate_aligned(buffer_count_);
  scratch_ = allocate_aligned(scratch_floats_);
  fanout_grad_ = allocate_aligned(fanout_slots_ * fanout_floats_);
  gradient_pool_ = allocate_aligned(gradient_slot_offsets_.back());
  for (auto& node : nodes_) {
    if (node->gradient_slot >= 0) node->gradient = gradient_pool_.get() + gradient_slot_offsets_[node->gradient_slot];
    std::vector<Tensor> params, grads, buffers;
    for (size_t p = 0; p < node->parameter_specs.size(); ++p) {
      params.push_back(Tensor::view(parameters_.get() + node->parameter_offsets[p], node->parameter_specs[p].shape));
      grads.push_back(Tensor::view(gradients_.get() + node->parameter_offsets[p], node->parameter_specs[p].shape));
    }
    node->graph.layer->bind_parameters(params, grads);
    for (size_t b = 0; b < node->buffer_specs.size(); ++b)
      buffers.push_back(Tensor::view(buffers_.get() + node->buffer_offsets[b], node->buffer_specs[b].shape));
    node->graph.layer->bind_buffers(buffers);
  }
  forward_seconds_.assign(nodes_.size(), 0.0);
  backward_seconds_.assign(nodes_.size(), 0.0);
}

Model::~Model() = default;

std::vector<NamedTensor> Model::named_tensors() {
  std::vector<NamedTensor> tensors;
  for (auto& node : nodes_) {
    for (size_t p = 0; p < node->parameter_specs.size(); ++p)
      tensors.push_back({node->graph.name, node->parameter_specs[p].name, node->parameter_specs[p].shape,
                         parameters_.get() + node->parameter_offsets[p], false});
    for (size_t b = 0; b < node->buffer_specs.size(); ++b)
      tensors.push_back({node->graph.name, node->buffer_specs[b].name, node->buffer_specs[b].shape,
                         buffers_.get() + node->buffer_offsets[b], true});
  }
  return tensors;
}

void Model::initialize(uint64_t seed) {
  std::fill(buffers_.get(), buffers_.get() + buffer_count_, 0.0f);
  for (auto& node : nodes_)
    for (size_t b = 0; b < node->buffer_specs.size(); ++b)
      std::fill_n(buffers_.get() + node->buffer_offsets[b], node->buffer_specs[b].shape.numel(),
                  node->buffer_specs[b].init);
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
  for (const auto& node : nodes_) {
    for (const ParameterSpec& p : node->parameter_specs) h = fnv1a(p.shape.str(), h);
    // Buffers are hashed by name too, so a model without them keeps its fingerprint.
    for (const BufferSpec& b : node->buffer_specs) h = fnv1a(b.name + b.shape.str(), h);
  }
  return h;
}

std::string Model::summary() const {
  std::ostringstream out;
  char line[512];
  // The type column as wide as the longest description (fused layers describe themselves at length).
  int type_width = 46;
  for (const LayerInfo& l : info_) type_width = std::max(type_width, static_cast<int>(l.description.size()));
  const char* format = "%-24s %-*s %-18s %11s %9s  %s\n";
  std::snprintf(line, sizeof line, format, "layer", type_width, "type", "output", "params", "MFLOPs", "reads");
  out << line;
  int64_t trainable = 0, buffers = 0, activations = 0;
  double flops = 0.0;
  for (size_t i = 0; i < info_.size(); ++i) {
    const LayerInfo& l = info_[i];
    // Only reads that are not simply the layer before are listed, as Keras lists connections.
    std::string reads;
    const bool chain = l.inputs.empty() || (l.inputs.size() == 1 && i > 0 && l.inputs[0] == info_[i - 1].name);
    for (size_t j = 0; !chain && j < l.inputs.size(); ++j) reads += (j ? ", " : "") + l.inputs[j];
    const double mflops = l.forward_flops / static_cast<double>(max_batch_) / 1e6;
    std::snprintf(line, sizeof line, format, l.name.c_str(), type_width, l.description.c_str(),
                  l.output.with_batch(1).str().c_str(), std::to_string(l.parameters).c_str(),
                  (std::ostringstream() << std::fixed << std::setprecision(2) << mflops).str().c_str(), reads.c_str());
    out << line;
    trainable += l.parameters;
    buffers += l.buffers;
    flops += l.forward_flops / static_cast<double>(max_batch_);
    activations += l.output.with_batch(1).numel();
  }
  out << "model " << spec_.name << ": " << info_.size() << " layers, " << trainable << " parameters, " << buffers
      << " non-trainable values (running statistics), input " << spec_.input.str() << ", " << spec_.classes
      << " classes\n";
  out << "per image: " << std::fixed << std::setprecision(3) << flops / 1e9 << " GFLOPs forward, "
      << std::setprecision(2) << static_cast<double>(activations) * 4.0 / (1 << 20) << " MiB of activations, "
      << static_cast<double>(gradient_pool_floats()) * 4.0 / static_cast<double>(max_batch_) / (1 << 20)
      << " MiB for their gradients in training";
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
  layer_ctx.scratch_floats = scratch_floats_;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    Node& node = *nodes_[i];
    for (size_t j = 0; j < node.graph.inputs.size(); ++j) {
      const int from = node.graph.inputs[j];
      node.input_views[j] = from < 0 ? input : nodes_[from]->output_view;
    }
    node.output_view = Tensor::view(node.activation.data(), node.graph.output_shape.with_batch(n));
    const bool fold = !ctx.training && node.graph.inference_fold >= 0;  // Note [Folded batch norm]
    if (!ctx.training && node.graph.folded_in_inference) continue;      // its producer wrote it
    layer_ctx.layer_index = node.graph.spec_index;
    const auto t0 = std::chrono::steady_clock::now();
    if (fold) {
      Node& consumer = *nodes_[node.graph.inference_fold];
      consumer.output_view = Tensor::view(consumer.activation.data(), consumer.graph.output_shape.with_batch(n));
      node.graph.layer->forward_folded(node.input_views, consumer.output_view, consumer.graph.layer->inference_affine(),
                                       layer_ctx);
    } else {
      node.graph.layer->forward(node.input_views, node.output_view, layer_ctx);
    }
    if (profiling_) forward_seconds_[i] += seconds_since(t0);
  }
  output_ = nodes_.back()->output_view;
  return output_;
}

void Model::pass_without_samples(const PassContext& ctx) {
  PassContext layer_ctx = ctx;
  layer_ctx.threads = std::min(ctx.threads, threads_);
  layer_ctx.scratch = scratch_.get();
  layer_ctx.scratch_floats = scratch_floats_;
  for (auto& node : nodes_) {
    layer_ctx.layer_index = node->graph.spec_index;
    node->graph.layer->pass_without_samples(false, layer_ctx);
  }
  for (auto it = nodes_.rbegin(); it != nodes_.rend(); ++it) {
    layer_ctx.layer_index = (*it)->graph.spec_index;
    (*it)->graph.layer->pass_without_samples(true, layer_ctx);
  }
}

void Model::backward(const Tensor& output_grad, const PassContext& ctx,
                     const std::function<void(int64_t)>& gradients_ready) {
  CONVOY_ASSERT(output_grad.shape() == output_.shape(), "output_grad ", output_grad.shape().str(), " vs output ",
                output_.shape().str());
  const int64_t n = output_grad.shape()[0];
  std::fill(gradients_.get(), gradients_.get() + parameter_count_, 0.0f);
  PassContext layer_ctx = ctx;
  layer_ctx.threads = std::min(ctx.threads, threads_);
  layer_ctx.scratch = scratch_.get();
  layer_ctx.scratch_floats = scratch_floats_;
  int64_t final_from = parameter_count_;
  for (int i = static_cast<int>(nodes_.size()) - 1; i >= 0; --i) {
    Node& node = *nodes_[i];
    const Tensor node_grad = i + 1 == static_cast<int>(nodes_.size())
                                 ? output_grad
                                 : Tensor::view(node.gradient, node.graph.output_shape.with_batch(n));
    for (size_t j = 0; j < node.graph.inputs.size(); ++j) {
      const int target = node.grad_target[j];
      if (target == kNoGradient) {
        node.input_grad_views[j] = Tensor();
        continue;
      }
      Node& from = *nodes_[node.graph.inputs[j]];
      float* data = target == kOverwrite ? from.gradient : fanout_grad_.get() + target * fanout_floats_;
      node.input_grad_views[j] = Tensor::view(data, from.output_view.shape());
    }
    layer_ctx.layer_index = node.graph.spec_index;
    const auto t0 = std::chrono::steady_clock::now();
    node.graph.layer->backward(node.input_views, node.output_view, node_grad, node.input_grad_views, layer_ctx);
    if (profiling_) backward_seconds_[i] += seconds_since(t0);
    for (size_t j = 0; j < node.graph.inputs.size(); ++j) {
      if (node.grad_target[j] < 0) continue;
      float* dst = nodes_[node.graph.inputs[j]]->gradient;
      const float* extra = node.input_grad_views[j].data();
      const int64_t count = node.input_grad_views[j].numel();
      for (int64_t e = 0; e < count; ++e) dst[e] += extra[e];
    }
    if (!node.parameter_offsets.empty()) final_from = node.parameter_offsets.front();
    if (gradients_ready) gradients_ready(final_from);
  }
}

}  // namespace convoy
