// Counter-based random numbers: every draw is a pure function of (seed, purpose, counters).
#pragma once

#include <cstdint>

namespace convoy {

// Note [Counter-based randomness]
// Convoy has no stateful generator. A random value is hash(seed, purpose, a, b): for
// initialisation (a = parameter index, b = element), shuffling (a = epoch), dropout (a = step,
// b = global sample position and element), augmentation (a = epoch, b = global sample index;
// Note [Augmentation] in io/augmentation.hpp), an image import's validation split (b = file
// index). So results do not depend on how many ranks or
// threads drew before, a resumed run draws exactly what an uninterrupted one would, and any
// element can be drawn in parallel.
enum class RandomPurpose : uint64_t { init = 1, shuffle = 2, dropout = 3, augment = 4, split = 5 };

// 64 well-mixed bits for the given counters (SplitMix64-style finaliser over a keyed combination).
uint64_t random_bits(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b);

// Uniform in [0, 1) with 24 bits of resolution.
float random_uniform(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b);

// random_uniform(seed, purpose, a, b0 + i) for i < count into out: the same values, a row at a
// time, with what depends on (seed, purpose, a) mixed once and the rest vectorised (dropout
// draws one per activation).
void random_uniforms(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b0, int64_t count, float* out);

// Standard normal (Box-Muller over two independent draws of the same counters).
float random_normal(uint64_t seed, RandomPurpose purpose, uint64_t a, uint64_t b);

}  // namespace convoy
