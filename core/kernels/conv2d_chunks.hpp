// How the GEMM-based convolutions (im2col, shifted rows, 1x1) cut a batch into chunks of columns.
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/alignment.hpp"
#include "core/kernels/conv2d_kernels.hpp"

namespace convoy {

// Note [Sample chunks]
// Each pass works through chunks: im2col of the chunk into col [patch, columns], then one GEMM.
// A chunk is either S whole samples side by side (columns = S * OH * OW), so that small outputs
// (keras-cnn's 3x3) fill the microkernel's 32 lanes, or, when one sample's output is large
// (ResNet's 56x56), a band of output rows of one sample, so that col (patch x columns) stays
// in L2 instead of streaming 7 MB per sample through memory.
//
// The weight gradient sums over the chunk's columns inside the GEMM, so its chunks depend only
// on the geometry (S a power of two up to kWeightGradGroup, never straddling a group): its bits
// never depend on the thread count. Forward and backward-data compute each column alone, the
// same way whatever the chunk, so their chunks may follow the thread count: about
// kChunkColumns columns, with a chunk count that splits evenly over the threads.
constexpr int64_t kChunkColumns = 512;
constexpr int64_t kBandAbove = 1024;  // output pixels per sample above which chunks are bands

// The row stride of a chunk's col and GEMM result: its columns rounded up to 16 floats, so that
// (the scratch being aligned) the rows the GEMM reads and writes in place start on cache lines.
// With 484 columns every 64-byte load of them spanned two lines.
inline int64_t padded_ld(int64_t columns) { return align_floats(columns); }

struct Chunk {
  int64_t n0, n1;    // samples [n0, n1)
  int64_t oy0, oy1;  // output rows [oy0, oy1) of each
  int64_t columns(const Conv2dGeometry& g) const { return (n1 - n0) * (oy1 - oy0) * g.out_w; }
  int64_t ld(const Conv2dGeometry& g) const { return padded_ld(columns(g)); }
};

struct ChunkPlan {
  int64_t samples = 1;  // per chunk, when rows == out_h
  int64_t rows = 0;     // output rows per chunk
  int64_t bands = 1;    // chunks per sample
  int64_t count = 0;    // chunks in all

  int64_t max_columns(const Conv2dGeometry& g) const { return padded_ld(samples * rows * g.out_w); }
  Chunk at(const Conv2dGeometry& g, int64_t i) const {
    if (bands > 1) {
      const int64_t oy0 = i % bands * rows;
      return {i / bands, i / bands + 1, oy0, std::min(g.out_h, oy0 + rows)};
    }
    return {i * samples, std::min(g.batch, (i + 1) * samples), 0, g.out_h};
  }
};

// Bands of about kChunkColumns columns (whole pooling windows with the fused pool).
ChunkPlan banded(const Conv2dGeometry& g);
// Chunks of `samples` whole samples.
ChunkPlan samples_of(const Conv2dGeometry& g, int64_t samples);
// The weight gradient's chunks: fixed by the geometry.
ChunkPlan weight_plan(const Conv2dGeometry& g);
// Forward's and backward-data's: may follow the thread count.
ChunkPlan pass_plan(const Conv2dGeometry& g, int threads);

}  // namespace convoy
