#include "core/tensor.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>

#include "core/alignment.hpp"
#include "core/error.hpp"

namespace convoy {

std::shared_ptr<float[]> allocate_aligned(int64_t count) {
  CONVOY_ASSERT(count >= 0);
  // Round up so the byte count is a multiple of the alignment, as aligned_alloc requires.
  const size_t bytes = static_cast<size_t>(align_floats(std::max<int64_t>(count, 1))) * sizeof(float);
  auto* p = static_cast<float*>(std::aligned_alloc(kAlignFloats * sizeof(float), bytes));
  if (p == nullptr) throw std::bad_alloc();
  std::fill(p, p + bytes / sizeof(float), 0.0f);
  return std::shared_ptr<float[]>(p, [](float* q) { std::free(q); });
}

Tensor::Tensor(Shape shape) : storage_(allocate_aligned(shape.numel())), shape_(shape) {
  data_ = storage_.get();
}

Tensor Tensor::view(float* data, Shape shape) {
  Tensor t;
  t.data_ = data;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::reshaped(Shape shape) const {
  CONVOY_ASSERT(shape.numel() <= shape_.numel(), "reshape ", shape_.str(), " to ", shape.str());
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

void Tensor::fill(float value) { std::fill(data_, data_ + numel(), value); }

}  // namespace convoy
