#include "core/shape.hpp"

#include "core/error.hpp"

namespace convoy {

Shape::Shape(std::initializer_list<int64_t> dims) {
  CONVOY_CHECK(dims.size() <= kMaxRank, ShapeError, "shape of rank ", dims.size(),
               ": at most ", kMaxRank, " dimensions are supported");
  for (int64_t d : dims) {
    CONVOY_CHECK(d >= 0, ShapeError, "shape dimension ", d, ": expected a non-negative size");
    dims_[rank_++] = d;
  }
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[i];
  return n;
}

Shape Shape::with_batch(int64_t n) const {
  CONVOY_ASSERT(rank_ >= 1);
  Shape s = *this;
  s.dims_[0] = n;
  return s;
}

int64_t Shape::sample_numel() const {
  int64_t n = 1;
  for (int i = 1; i < rank_; ++i) n *= dims_[i];
  return n;
}

std::string Shape::str() const {
  std::string s = "[";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[i]);
  }
  return s + "]";
}

bool operator==(const Shape& a, const Shape& b) {
  if (a.rank_ != b.rank_) return false;
  for (int i = 0; i < a.rank_; ++i)
    if (a.dims_[i] != b.dims_[i]) return false;
  return true;
}

}  // namespace convoy
