#include "io/channel_statistics.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"

namespace convoy {

void Normalization::validate(int64_t channels, const std::string& source) const {
  const auto list = [](const std::vector<float>& v) {
    std::string s;
    for (float x : v) s += (s.empty() ? "" : ",") + detail::concat(x);
    return "[" + s + "]";
  };
  CONVOY_CHECK(static_cast<int64_t>(mean.size()) == channels && static_cast<int64_t>(std.size()) == channels,
               ConfigError, source, ": expected a mean and a std for each of the ", channels, " channels, found mean ",
               list(mean), " and std ", list(std));
  for (int64_t c = 0; c < channels; ++c) {
    CONVOY_CHECK(std::isfinite(mean[c]) && std::isfinite(std[c]) && std[c] > 0, ConfigError, source,
                 ": expected a finite mean and a std > 0 for every channel, found mean ", list(mean), " and std ",
                 list(std), " (a constant channel cannot be normalised)");
  }
}

void Normalization::apply(float* images_nchw, int64_t n, int64_t channels, int64_t plane) const {
  if (!active()) return;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < channels; ++c) {
      float* p = images_nchw + (i * channels + c) * plane;
      const float m = mean[c], s = std[c];
      for (int64_t k = 0; k < plane; ++k) p[k] = (p[k] - m) / s;
    }
}

ChannelStatistics::ChannelStatistics(int64_t channels) : sum_(channels, 0.0), sum_sq_(channels, 0.0) {}

void ChannelStatistics::add(const uint8_t* pixels_hwc, int64_t pixels) {
  const auto channels = static_cast<int64_t>(sum_.size());
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c) {
      const double v = pixels_hwc[p * channels + c];
      sum_[c] += v;
      sum_sq_[c] += v * v;
    }
  pixels_ += pixels;
}

std::vector<float> ChannelStatistics::mean() const {
  std::vector<float> m;
  for (double s : sum_) m.push_back(static_cast<float>(s / static_cast<double>(pixels_) / 255.0));
  return m;
}

std::vector<float> ChannelStatistics::stddev() const {
  std::vector<float> d;
  for (size_t c = 0; c < sum_.size(); ++c) {
    const double mean = sum_[c] / static_cast<double>(pixels_);
    const double variance = std::max(0.0, sum_sq_[c] / static_cast<double>(pixels_) - mean * mean);
    d.push_back(static_cast<float>(std::sqrt(variance) / 255.0));
  }
  return d;
}

Normalization combine_statistics(const std::vector<int64_t>& counts, const std::vector<Normalization>& parts) {
  CONVOY_ASSERT(counts.size() == parts.size() && !parts.empty(),
                "combine_statistics: one count per part, at least one part");
  const size_t channels = parts[0].mean.size();
  Normalization all;
  double total = 0;
  for (int64_t n : counts) total += static_cast<double>(n);
  for (size_t c = 0; c < channels; ++c) {
    // E[x] and E[x^2] of the union, from each part's mean and variance.
    double m1 = 0, m2 = 0;
    for (size_t i = 0; i < parts.size(); ++i) {
      const double w = static_cast<double>(counts[i]) / total, m = parts[i].mean[c], s = parts[i].std[c];
      m1 += w * m;
      m2 += w * (s * s + m * m);
    }
    all.mean.push_back(static_cast<float>(m1));
    all.std.push_back(static_cast<float>(std::sqrt(std::max(0.0, m2 - m1 * m1))));
  }
  return all;
}

}  // namespace convoy
