#include "core/flatten.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace convoy {

Shape Flatten::output_shape(std::span<const Shape> inputs) const {
  CONVOY_CHECK(inputs.size() == 1 && inputs[0].rank() >= 2, ShapeError,
               "layer flatten: expected one input of rank 2 or more, found ", inputs.size(), " inputs");
  return Shape{inputs[0][0], inputs[0].sample_numel()};
}

void Flatten::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext&) {
  std::copy_n(inputs[0].data(), inputs[0].numel(), output.data());
}

void Flatten::backward(std::span<const Tensor> inputs, const Tensor&, const Tensor& output_grad,
                       std::span<Tensor> input_grads, const PassContext&) {
  if (!input_grads[0].empty()) std::copy_n(output_grad.data(), output_grad.numel(), input_grads[0].data());
}

}  // namespace convoy
