#include "core/model_graph.hpp"

#include <algorithm>
#include <map>

#include "core/error.hpp"
#include "core/layer_factory.hpp"

namespace convoy {
namespace {

// The node indices a spec layer reads; names resolve to earlier layers only.
std::vector<int> resolve_inputs(const ModelSpec& spec, int index, const std::map<std::string, int>& index_of) {
  const LayerSpec& ls = spec.layers[index];
  if (ls.inputs.empty()) return {index - 1};
  std::vector<int> inputs;
  for (const std::string& in : ls.inputs) {
    const auto found = index_of.find(in);
    if (found != index_of.end()) {
      inputs.push_back(found->second);
      continue;
    }
    bool later = false;
    for (const LayerSpec& other : spec.layers) later = later || other.name == in;
    CONVOY_CHECK(!later, ConfigError, "layer '", ls.name, "': input '", in,
                 "' is this layer or a later one; a layer reads earlier layers only (no cycles)");
    throw ConfigError("layer '" + ls.name + "': input '" + in + "' is not a layer of model " + spec.name);
  }
  return inputs;
}

void check_input_count(const LayerSpec& ls, const Layer& layer, size_t count) {
  const int lo = layer.min_inputs(), hi = layer.max_inputs();
  const std::string expected = lo == hi ? std::to_string(lo) : std::to_string(lo) + " or more";
  CONVOY_CHECK(static_cast<int>(count) >= lo && static_cast<int>(count) <= hi, ConfigError, "layer '", ls.name,
               "' (", ls.type, "): expected ", expected, " input", lo == 1 && hi == 1 ? "" : "s", ", found ", count);
}

}  // namespace

ModelGraph build_graph(const ModelSpec& spec, int64_t max_batch) {
  CONVOY_CHECK(max_batch > 0, ConfigError, "model ", spec.name, ": batch size must be positive, found ", max_batch);
  CONVOY_CHECK(spec.input.rank() == 3, ShapeError, "model ", spec.name, ": input must be [C, H, W], found ",
               spec.input.str());
  CONVOY_CHECK(!spec.layers.empty(), ConfigError, "model ", spec.name, ": has no layers");
  ModelGraph graph;
  graph.input = Shape{max_batch, spec.input[0], spec.input[1], spec.input[2]};
  std::map<std::string, int> index_of;
  for (int i = 0; i < static_cast<int>(spec.layers.size()); ++i) {
    const LayerSpec& ls = spec.layers[i];
    CONVOY_CHECK(!index_of.count(ls.name), ConfigError, "model ", spec.name, ": two layers are named '", ls.name, "'");
    GraphNode node;
    node.layer = make_layer(ls);
    node.name = ls.name;
    node.spec_index = i;
    node.inputs = resolve_inputs(spec, i, index_of);
    check_input_count(ls, *node.layer, node.inputs.size());
    for (int in : node.inputs) {
      node.input_shapes.push_back(in < 0 ? graph.input : graph.nodes[in].output_shape);
      if (in >= 0) ++graph.nodes[in].consumers;
    }
    try {
      node.output_shape = node.layer->output_shape(node.input_shapes);
    } catch (const ShapeError& e) {
      throw ShapeError("layer '" + ls.name + "': " + e.what());
    }
    CONVOY_CHECK(node.output_shape.numel() > 0, ShapeError, "layer '", ls.name, "': output ",
                 node.output_shape.str(), " has no elements");
    index_of[ls.name] = i;
    graph.nodes.push_back(std::move(node));
  }
  for (size_t i = 0; i + 1 < graph.nodes.size(); ++i) {
    CONVOY_CHECK(graph.nodes[i].consumers > 0, ConfigError, "layer '", graph.nodes[i].name,
                 "': no later layer reads its output (only the last layer's output may be unread)");
  }
  const Shape& last = graph.nodes.back().output_shape;
  CONVOY_CHECK(last.rank() == 2 && last[1] == spec.classes, ShapeError, "model ", spec.name,
               ": the last layer must output [N, ", spec.classes, "] for ", spec.classes, " classes, found ",
               last.str());
  return graph;
}

// Note [Fused ReLU]
// A ReLU that is the only reader of a convolution becomes part of it: the convolution applies it
// to its accumulators as it writes, and its backward masks the gradient by its own output, so the
// activation is written and read once instead of three times. Later layers that read the ReLU
// read the convolution. Same bits as the separate layers (a test checks it).
//
// Note [Fused pooling]
// A 2x2 stride-2 max pool after a fused ReLU becomes part of the convolution too: the kernel
// writes only the pooled output and records which of the four positions won each window (a
// byte per window), so backward routes the gradient through the winners without the unpooled
// activation. The buffer of winner codes has slack at the end of each row, for vector reads.
//
// Note [Fused residual add]
// An add of two inputs (a residual block's, with the ReLU after it) folds into the batch norm
// that produces one of them when nothing else reads that batch norm: the batch norm takes the
// other input as its second, writes relu(normalised + residual) in its one element-wise pass,
// and in backward writes the residual's gradient (the output gradient masked by the ReLU) in
// the same pass as its own input gradient. That saves the add's pass over three tensors in
// forward and its two copies of the gradient in backward. The fused node runs where the batch
// norm was; when the other input comes later in the spec (He et al.'s option-A shortcut after a
// block's second batch norm), the batch norm moves to run after it, provided no layer in
// between holds parameters or buffers, so the stores keep their layout (a 1x1 convolution
// shortcut there keeps its add a layer). Same bits as the separate layers: the same float
// operations in the same order, and a two-term sum of fan-out gradients is the same in either
// order (a test checks it).
namespace {

// Whether kept[from] may move to the end of `kept`: the nodes after it hold no parameters or
// buffers, so moving it leaves the layout of the stores (and checkpoints) as it was.
bool movable_to_end(const std::vector<GraphNode>& kept, int from) {
  for (size_t j = from + 1; j < kept.size(); ++j) {
    const GraphNode& n = kept[j];
    if (!n.layer->parameter_specs(n.input_shapes).empty() || !n.layer->buffer_specs(n.input_shapes).empty())
      return false;
  }
  return true;
}

// Moves kept[from] to the end; every index into `kept` (inputs, new_index) follows it.
void move_to_end(std::vector<GraphNode>& kept, std::vector<int>& new_index, int from) {
  const int last = static_cast<int>(kept.size()) - 1;
  const auto remap = [&](int& in) { in = in == from ? last : in > from ? in - 1 : in; };
  std::rotate(kept.begin() + from, kept.begin() + from + 1, kept.end());
  for (GraphNode& n : kept)
    for (int& in : n.inputs) remap(in);
  for (int& in : new_index) remap(in);
}

// Folds a post-op node into its producer if the producer accepts it; returns the producer's
// index in `kept`, or -1 when the node stays a layer.
int fold_into_producer(GraphNode& node, std::vector<GraphNode>& kept, std::vector<int>& new_index) {
  const std::optional<PostOp> op = node.layer->as_post_op();
  if (!op) return -1;
  const bool add = *op == PostOp::residual_add;
  if (node.inputs.size() != (add ? 2u : 1u)) return -1;
  for (size_t p = 0; p < node.inputs.size(); ++p) {
    int from = node.inputs[p];
    if (from < 0 || kept[from].consumers != 1) continue;
    int other = add ? node.inputs[1 - p] : -1;
    // The other input is computed after the producer: the producer moves to run after it.
    const bool move = add && other > from;
    if (add && (other == from || (move && !movable_to_end(kept, from)))) continue;
    if (!kept[from].layer->accept_post_op(*op)) continue;
    if (move) {
      move_to_end(kept, new_index, from);
      from = static_cast<int>(kept.size()) - 1;
      --other;
    }
    GraphNode& producer = kept[from];
    if (add) {
      producer.inputs.push_back(other);
      producer.input_shapes.push_back(node.input_shapes[1 - p]);
    }
    producer.fused.push_back(node.name);
    producer.output_shape = producer.layer->output_shape(producer.input_shapes);
    CONVOY_ASSERT(producer.output_shape == node.output_shape, "fusing ", node.name, " into ", producer.name,
                  " changed the output from ", node.output_shape.str(), " to ", producer.output_shape.str());
    producer.consumers = node.consumers;
    return from;
  }
  return -1;
}

}  // namespace

void fuse_graph(ModelGraph& graph) {
  std::vector<int> new_index(graph.nodes.size());
  std::vector<GraphNode> kept;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    GraphNode& node = graph.nodes[i];
    for (int& in : node.inputs)
      if (in >= 0) in = new_index[in];
    const int producer = fold_into_producer(node, kept, new_index);
    if (producer >= 0) {
      new_index[i] = producer;
      continue;
    }
    new_index[i] = static_cast<int>(kept.size());
    kept.push_back(std::move(node));
  }
  for (size_t i = 0; i < kept.size(); ++i) {
    GraphNode& node = kept[i];
    if (node.inputs.size() != 1 || node.inputs[0] < 0 || !node.layer->folds_into_producer()) continue;
    GraphNode& producer = kept[node.inputs[0]];
    if (producer.consumers != 1 || !producer.layer->accept_inference_fold()) continue;
    producer.inference_fold = static_cast<int>(i);
    node.folded_in_inference = true;
  }
  graph.nodes = std::move(kept);
}

}  // namespace convoy
