#include "core/layer.hpp"

#include "core/error.hpp"

namespace convoy {

void check_single_input(const Layer& layer, std::span<const Shape> inputs, int rank) {
  CONVOY_CHECK(inputs.size() == 1, ShapeError, "layer ", layer.describe(), ": expected 1 input, found ",
               inputs.size());
  CONVOY_CHECK(inputs[0].rank() == rank, ShapeError, "layer ", layer.describe(), ": expected an input of rank ",
               rank, ", found ", inputs[0].str());
}

}  // namespace convoy
