// ModelGraph: a ModelSpec's layers as a checked DAG (the build pass), and the fuse pass over it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/layer.hpp"
#include "core/model_spec.hpp"

namespace convoy {

struct GraphNode {
  std::unique_ptr<Layer> layer;
  std::string name;          // the spec layer's name
  int spec_index = 0;        // its position in ModelSpec::layers: the layer's identity
  std::vector<int> inputs;   // node indices, -1 is the model input
  std::vector<std::string> fused;  // spec layers folded into this one by the fuse pass
  std::vector<Shape> input_shapes;  // at the maximum batch
  Shape output_shape;
  int consumers = 0;         // how many inputs of later nodes read this node
  // Note [Folded batch norm]: the node this one computes in inference passes (-1: none), and
  // whether this node's inference pass is done by its producer.
  int inference_fold = -1;
  bool folded_in_inference = false;
};

// Nodes in spec order; the last one is the model's output.
struct ModelGraph {
  Shape input;  // [max_batch, C, H, W]
  std::vector<GraphNode> nodes;
};

// The build pass: makes every layer (its options checked by the factory), resolves inputs by
// name (an empty list reads the layer before), checks each layer's input count and infers every
// shape. Throws ConfigError or ShapeError naming the layer for duplicate names, inputs that are
// not earlier layers (so no cycle can be written), a wrong input count, mismatched shapes, an
// output of zero size, a layer whose output nothing reads (except the last), and a last layer
// that is not [N, classes].
ModelGraph build_graph(const ModelSpec& spec, int64_t max_batch);

// The fuse pass (Note [Post-ops]): folds each post-op layer into its producer when the producer
// has no other reader and accepts it; shapes are inferred again. Nodes keep their order, except
// that a batch norm taking a residual add may move after the add's other input (Note [Fused
// residual add]). Then
// pairs each batch norm with the convolution it alone reads, for inference (Note [Folded
// batch norm]).
void fuse_graph(ModelGraph& graph);

}  // namespace convoy
