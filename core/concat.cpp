#include "core/concat.hpp"

#include <algorithm>
#include <array>

#include "core/error.hpp"
#include "core/kernels/thread_count.hpp"

namespace convoy {
namespace {

// Copies between each input's [N, C_i, plane] and its channel slice of [N, sum C_i, plane];
// to_output chooses the direction. Parallel over (sample, input) pairs.
void copy_slices(std::span<const Tensor> parts, const Tensor& whole, bool to_output, int threads,
                 std::span<Tensor> grads) {
  const int64_t n = whole.shape()[0], per_sample = whole.numel() / n;
  const auto count = static_cast<int64_t>(parts.size());
  std::array<int64_t, 65> offsets{};  // Concat::max_inputs() + 1
  for (int64_t i = 0; i < count; ++i) offsets[i + 1] = offsets[i] + parts[i].numel() / n;
#pragma omp parallel for num_threads(clamp_threads(threads, n * count)) schedule(static)
  for (int64_t item = 0; item < n * count; ++item) {
    const int64_t s = item / count, i = item % count, size = offsets[i + 1] - offsets[i];
    float* slice = const_cast<float*>(whole.data()) + s * per_sample + offsets[i];
    if (to_output) {
      std::copy_n(parts[i].data() + s * size, size, slice);
    } else if (!grads[i].empty()) {
      std::copy_n(slice, size, grads[i].data() + s * size);
    }
  }
}

}  // namespace

Shape Concat::output_shape(std::span<const Shape> inputs) const {
  CONVOY_CHECK(inputs.size() >= 2, ShapeError, "concat: expected 2 or more inputs, found ", inputs.size());
  const Shape& first = inputs[0];
  CONVOY_CHECK(first.rank() == 4 || first.rank() == 2, ShapeError, "concat: expected inputs [N, C, H, W] or [N, C], ",
               "found ", first.str());
  int64_t channels = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Shape& s = inputs[i];
    bool same = s.rank() == first.rank() && s[0] == first[0];
    for (int d = 2; same && d < s.rank(); ++d) same = s[d] == first[d];
    CONVOY_CHECK(same, ShapeError, "concat: input ", i, " is ", s.str(), ", input 0 is ", first.str(),
                 " (only the channel count may differ)");
    channels += s[1];
  }
  Shape out = first;
  out[1] = channels;
  return out;
}

void Concat::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) {
  copy_slices(inputs, output, true, ctx.threads, {});
}

void Concat::backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                      std::span<Tensor> input_grads, const PassContext& ctx) {
  copy_slices(inputs, output_grad, false, ctx.threads, input_grads);
}

}  // namespace convoy
