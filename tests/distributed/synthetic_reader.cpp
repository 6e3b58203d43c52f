#include "tests/distributed/synthetic_reader.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace convoy::testing {

SyntheticReader::SyntheticReader(int64_t size, int64_t classes, Shape sample, uint64_t seed) {
  info_.size = size;
  info_.classes = classes;
  info_.sample = sample;
  const int64_t per = sample.numel(), h = sample[1], w = sample[2];
  images_.resize(size * per);
  labels_.resize(size);
  for (int64_t i = 0; i < size; ++i) {
    labels_[i] = static_cast<int32_t>(i % classes);
    const int64_t row = labels_[i] * h / classes;
    for (int64_t e = 0; e < per; ++e) {
      const int64_t y = (e / w) % h;
      const float noise = 0.3f * random_uniform(seed, RandomPurpose::augment, i, e);
      images_[i * per + e] = (y == row ? 0.7f : 0.0f) + noise;
    }
  }
}

void SyntheticReader::plan(std::vector<std::vector<int64_t>> batches, int64_t /*epoch*/) {
  plan_ = std::move(batches);
  next_ = 0;
}

const Batch& SyntheticReader::next() {
  CONVOY_CHECK(next_ < plan_.size(), ConfigError, "synthetic reader: no batch planned");
  const std::vector<int64_t>& indices = plan_[next_++];
  const int64_t n = static_cast<int64_t>(indices.size()), per = info_.sample.numel();
  batch_.images = Tensor(Shape{n, info_.sample[0], info_.sample[1], info_.sample[2]});
  batch_.labels.resize(n);
  batch_.indices = indices;
  for (int64_t i = 0; i < n; ++i) {
    std::copy_n(images_.data() + indices[i] * per, per, batch_.images.data() + i * per);
    batch_.labels[i] = labels_[indices[i]];
    delivered_.push_back(indices[i]);
  }
  return batch_;
}

}  // namespace convoy::testing
