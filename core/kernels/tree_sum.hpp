// Tree sum: adds partial sums in a fixed pairwise tree, so the bits depend on the partials only.
#pragma once

#include <cstdint>

namespace convoy {

// Note [Fixed summation tree]
// A gradient is a sum over the samples of a global batch. Float addition is not associative,
// so the bits depend on how the terms are grouped; to get the same bits on 1, 2 and 4 ranks
// every level of the sum follows one tree that is fixed by sample position alone:
// - Leaves: groups of kWeightGradGroup consecutive samples of the global batch. Each layer
//   sums a group's samples in sample order (Note [Weight-gradient groups]): conv2d per group,
//   dense per group with a GEMM of depth <= kWeightGradGroup, whose element sums do not depend
//   on where the element lies in C.
// - Inner nodes: tree_sum below. Round r adds partial i + 2^r into partial i for every i that
//   is a multiple of 2^(r+1) (and has that partner): pairs of neighbours, then pairs of pairs.
//   Partial 0 ends up with the whole sum. For a count that is not a power of two the last,
//   incomplete subtree is joined at the round its size calls for (7 partials:
//   ((0+1)+(2+3)) + ((4+5)+6)).
// - Ranks: GradientReducer's ordered reduction brings every rank's part of each segment of the
//   gradient to one rank and adds the P of them with tree_sum, rank 0 first.
// When P is a power of two and every rank holds the same power-of-two number of whole groups,
// a rank's local sum is exactly one subtree of the one-rank tree and the sum over ranks is the
// levels above it, so P ranks give the bits of one rank: the global batch must be
// kWeightGradGroup * 2^m samples with 2^m >= P (with P in {1, 2, 4}: 8, 16, 32, 64, ... and
// at least 8 * P). Otherwise (P = 3, a global batch of 48, a short last batch that is not of
// that form) the sums are still deterministic for a given P, just grouped differently.
// Every element j is summed on its own, so callers may split [0, n) among threads in any way
// and get the same bits.
constexpr int64_t kWeightGradGroup = 8;

// partials: `count` vectors of n floats, vector i at partials + i * stride (stride >= n).
// Leaves their tree sum in partials[0, n); the other vectors are overwritten (scratch).
// count >= 1. Serial.
void tree_sum_in_place(float* partials, int64_t count, int64_t n, int64_t stride);

// The same tree, its sum added into out[0, n) (out[j] += sum); partials are scratch as above.
void tree_sum(float* partials, int64_t count, int64_t n, int64_t stride, float* out);

// The same tree over `count` doubles, returned (partials are scratch). For statistics.
double tree_sum(double* partials, int64_t count);

}  // namespace convoy
