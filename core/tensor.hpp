// Tensor: float32 data in NCHW order, either owning 64-byte aligned storage or viewing someone's.
#pragma once

#include <cstdint>
#include <memory>

#include "core/shape.hpp"

namespace convoy {

// 64-byte aligned, zero-initialised float storage (one AVX-512 register, one cache line).
std::shared_ptr<float[]> allocate_aligned(int64_t count);

// A Tensor is cheap to copy: copies share storage. Views (Tensor::view) own nothing and are
// what layers receive; owning tensors are made by the model's planner and by tests.
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(Shape shape);  // owning, zero-filled
  static Tensor view(float* data, Shape shape);

  float* data() { return data_; }
  const float* data() const { return data_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return shape_.numel(); }
  bool empty() const { return data_ == nullptr; }
  float& operator[](int64_t i) { return data_[i]; }
  float operator[](int64_t i) const { return data_[i]; }

  // A view of the same data with another shape of equal or smaller element count.
  Tensor reshaped(Shape shape) const;
  void fill(float value);

 private:
  std::shared_ptr<float[]> storage_;
  float* data_ = nullptr;
  Shape shape_;
};

}  // namespace convoy
