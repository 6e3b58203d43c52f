// Per-channel mean and standard deviation of images, and normalising samples by them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace convoy {

// Note [Normalisation]
// An import stores, per channel, the mean and standard deviation of its images in [0, 1] units
// (stored byte / 255) as attributes `mean` and `std` on /images. With --normalize the loader
// maps every value x of channel c to (x - mean[c]) / std[c], after augmentation, so the zeros a
// padded crop adds become -mean/std (black), as in torchvision's RandomCrop-then-Normalize.
// The training set's statistics are used for every set a run reads (test, validation) and are
// recorded in the checkpoint, so eval and predict prepare samples exactly as training did.
struct Normalization {
  std::vector<float> mean, std;  // one per channel; both empty: no normalisation

  bool active() const { return !mean.empty(); }
  // Throws ConfigError naming `source` unless both lists hold `channels` finite values and
  // every std is > 0 (a constant channel has std 0 and cannot be normalised).
  void validate(int64_t channels, const std::string& source) const;
  // images [n, C, H, W]: x = (x - mean[c]) / std[c], in place.
  void apply(float* images_nchw, int64_t n, int64_t channels, int64_t plane) const;
};

// Sums of stored bytes per channel, for the mean and std attributes of an import.
class ChannelStatistics {
 public:
  explicit ChannelStatistics(int64_t channels);
  // `pixels` pixels of `channels` interleaved bytes (HWC order).
  void add(const uint8_t* pixels_hwc, int64_t pixels);
  // In [0, 1] units; population std (divided by the pixel count).
  std::vector<float> mean() const;
  std::vector<float> stddev() const;

 private:
  std::vector<double> sum_, sum_sq_;
  int64_t pixels_ = 0;  // per channel
};

// The statistics of several parts taken as one set: `counts[i]` samples (of equal size) with
// part i's per-channel mean and std. Exact up to float rounding (variances are combined, not stds).
Normalization combine_statistics(const std::vector<int64_t>& counts, const std::vector<Normalization>& parts);

}  // namespace convoy
