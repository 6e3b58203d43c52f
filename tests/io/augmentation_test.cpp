#include "io/augmentation.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "core/error.hpp"

namespace convoy {
namespace {

constexpr int64_t kC = 2, kH = 5, kW = 6;

std::vector<float> distinct_sample() {
  std::vector<float> s(kC * kH * kW);
  for (size_t i = 0; i < s.size(); ++i) s[i] = 1.0f + static_cast<float>(i);  // no zeros: padding shows
  return s;
}

// The CIFAR recipe written out: pad P zeros around, take the window at (oy, ox), mirror if asked.
std::vector<float> reference(const std::vector<float>& in, int64_t p, int64_t oy, int64_t ox, bool mirror) {
  std::vector<float> out(in.size());
  for (int64_t c = 0; c < kC; ++c)
    for (int64_t y = 0; y < kH; ++y)
      for (int64_t x = 0; x < kW; ++x) {
        const int64_t cx = mirror ? kW - 1 - x : x;                     // column of the crop
        const int64_t sy = y + oy - p, sx = cx + ox - p;                 // in the unpadded input
        const bool inside = sy >= 0 && sy < kH && sx >= 0 && sx < kW;
        out[(c * kH + y) * kW + x] = inside ? in[(c * kH + sy) * kW + sx] : 0.0f;
      }
  return out;
}

TEST(Augmentation, ParsesTheListAndWritesItCanonically) {
  EXPECT_FALSE(Augmentation::parse("").active());
  EXPECT_FALSE(Augmentation::parse("none").active());
  const Augmentation a = Augmentation::parse("crop=4,flip");
  EXPECT_TRUE(a.flip);
  EXPECT_EQ(a.crop_padding, 4);
  EXPECT_EQ(a.str(), "flip,crop:4");
  EXPECT_EQ(Augmentation::parse("crop:2").str(), "crop:2");
  EXPECT_EQ(Augmentation{}.str(), "none");
  for (const char* bad : {"rotate", "crop:0", "crop:", "crop:4x", "flip,", "crop:2000", "crop:-1"}) {
    try {
      Augmentation::parse(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("expected flip or crop:P"), std::string::npos) << e.what();
    }
  }
}

// Every output is the reference transform for exactly one (offset, mirror), each offset and
// both mirror states occur, and the same (seed, epoch, index) always gives the same output.
TEST(Augmentation, EachSampleIsAPaddedCropOrItsMirrorDrawnFromSeedEpochAndIndex) {
  const Augmentation a = Augmentation::parse("flip,crop:2");
  const std::vector<float> in = distinct_sample();
  std::vector<float> scratch(kW);
  std::set<int64_t> oys, oxs;
  int mirrored = 0, draws = 0;
  for (int64_t epoch = 0; epoch < 3; ++epoch)
    for (int64_t index = 0; index < 200; ++index) {
      std::vector<float> out = in;
      a.apply(out.data(), kC, kH, kW, 7, epoch, index, scratch.data());
      int matches = 0;
      for (int64_t oy = 0; oy <= 4; ++oy)
        for (int64_t ox = 0; ox <= 4; ++ox)
          for (bool mirror : {false, true})
            if (out == reference(in, 2, oy, ox, mirror)) {
              ++matches;
              oys.insert(oy);
              oxs.insert(ox);
              mirrored += mirror;
            }
      ASSERT_EQ(matches, 1) << "epoch " << epoch << " index " << index;
      ++draws;
      std::vector<float> again = in;
      a.apply(again.data(), kC, kH, kW, 7, epoch, index, scratch.data());
      ASSERT_EQ(again, out);
    }
  EXPECT_EQ(oys.size(), 5u);
  EXPECT_EQ(oxs.size(), 5u);
  EXPECT_GT(mirrored, draws / 3);
  EXPECT_LT(mirrored, 2 * draws / 3);
}

TEST(Augmentation, AnotherEpochOrSeedDrawsAnotherTransform) {
  const Augmentation a = Augmentation::parse("flip,crop:2");
  const std::vector<float> in = distinct_sample();
  std::vector<float> scratch(kW);
  int differ_epoch = 0, differ_seed = 0;
  for (int64_t index = 0; index < 50; ++index) {
    std::vector<float> base = in, next_epoch = in, other_seed = in;
    a.apply(base.data(), kC, kH, kW, 7, 0, index, scratch.data());
    a.apply(next_epoch.data(), kC, kH, kW, 7, 1, index, scratch.data());
    a.apply(other_seed.data(), kC, kH, kW, 8, 0, index, scratch.data());
    differ_epoch += base != next_epoch;
    differ_seed += base != other_seed;
  }
  // 50 draws of 50 equally likely transforms: a handful may coincide, not most.
  EXPECT_GT(differ_epoch, 40);
  EXPECT_GT(differ_seed, 40);
}

TEST(Augmentation, FlipAloneMirrorsAboutHalfTheSamples) {
  const Augmentation a = Augmentation::parse("flip");
  const std::vector<float> in = distinct_sample();
  std::vector<float> scratch(kW);
  int mirrored = 0;
  for (int64_t index = 0; index < 400; ++index) {
    std::vector<float> out = in;
    a.apply(out.data(), kC, kH, kW, 3, 0, index, scratch.data());
    const bool is_mirror = out == reference(in, 0, 0, 0, true);
    ASSERT_TRUE(is_mirror || out == in) << index;
    mirrored += is_mirror;
  }
  EXPECT_GT(mirrored, 150);
  EXPECT_LT(mirrored, 250);
}

TEST(Augmentation, PaddingAsLargeAsTheSampleIsRefused) {
  const Augmentation a = Augmentation::parse("crop:5");
  std::vector<float> s = distinct_sample(), scratch(kW);
  EXPECT_THROW(a.apply(s.data(), kC, kH, kW, 1, 0, 0, scratch.data()), ConfigError);
}

}  // namespace
}  // namespace convoy
