#include "core/relu.hpp"

#include "core/error.hpp"

namespace convoy {

Shape Relu::output_shape(std::span<const Shape> inputs) const {
  CONVOY_CHECK(inputs.size() == 1, ShapeError, "layer relu: expected 1 input, found ", inputs.size());
  return inputs[0];
}

// Element-wise passes are memory-bound: one thread streams them nearly as fast as two on
// these sizes, and a parallel region per small op costs more than it saves (see STYLE.md).
void Relu::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext&) {
  const float* in = inputs[0].data();
  float* out = output.data();
  const int64_t n = inputs[0].numel();
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

void Relu::backward(std::span<const Tensor>, const Tensor& output, const Tensor& output_grad,
                    std::span<Tensor> input_grads, const PassContext&) {
  if (input_grads[0].empty()) return;
  const float* out = output.data();
  const float* og = output_grad.data();
  float* ig = input_grads[0].data();
  const int64_t n = output.numel();
  // og read whatever out is: a blend of vectors, not a conditional load with a branch.
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    const float g = og[i];
    ig[i] = out[i] > 0.0f ? g : 0.0f;
  }
}

}  // namespace convoy
