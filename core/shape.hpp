// Shape: the dimensions of a tensor (rank up to 4, NCHW order), stored inline so views never allocate.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace convoy {

class Shape {
 public:
  static constexpr int kMaxRank = 4;

  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const { return dims_[i]; }
  int64_t& operator[](int i) { return dims_[i]; }
  int64_t numel() const;
  // The same shape with dimension 0 (the batch) replaced.
  Shape with_batch(int64_t n) const;
  // Elements per sample: the product of all dimensions but the first.
  int64_t sample_numel() const;
  std::string str() const;  // "[64, 1, 28, 28]"

  friend bool operator==(const Shape& a, const Shape& b);

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

}  // namespace convoy
