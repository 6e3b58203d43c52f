// Random horizontal flips and padded random crops of training samples, drawn per (seed, epoch, sample).
#pragma once

#include <cstdint>
#include <string>

namespace convoy {

// Note [Augmentation]
// The loader augments each training sample on its I/O thread, before normalisation (Note
// [Normalisation]). Every draw is random_bits(seed, augment, epoch, global sample index) (Note
// [Counter-based randomness]): bit 0 picks the flip, bits 8.. and 32.. the crop offsets. So a
// sample gets the same transform whichever rank reads it, in whatever batch, and a resumed run
// draws what an uninterrupted one would: the bits do not depend on ranks, threads or resume.
// crop:P is the CIFAR recipe: pad P zeros on every side, take a random window of the original
// size; that is a random shift by up to P pixels each way with zeros shifted in (a separate
// "translate" would be the same transform). Never applied to test or validation data, nor by
// eval or predict.
struct Augmentation {
  bool flip = false;         // mirror left-right with probability 1/2
  int64_t crop_padding = 0;  // P of crop:P; 0 = no crop

  bool active() const { return flip || crop_padding > 0; }
  // "flip", "crop:4" (or "crop=4"), comma-separated, in any order; "" or "none" is none.
  // ConfigError naming the item and what is accepted.
  static Augmentation parse(const std::string& text);
  // The canonical text ("flip,crop:4", "none"), as checkpoints and the agreement table hold it.
  std::string str() const;

  // sample [C, H, W] of global index `index` in `epoch`, transformed in place; `scratch` holds
  // at least W floats. Throws ConfigError when crop_padding >= H or W.
  void apply(float* sample_chw, int64_t channels, int64_t height, int64_t width, uint64_t seed, int64_t epoch,
             int64_t index, float* scratch) const;
};

}  // namespace convoy
