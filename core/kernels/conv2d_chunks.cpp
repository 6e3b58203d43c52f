#include "core/kernels/conv2d_chunks.hpp"

namespace convoy {

ChunkPlan banded(const Conv2dGeometry& g) {
  ChunkPlan p;
  p.rows = std::max<int64_t>(1, kChunkColumns / g.out_w);
  if (g.fused_pool) p.rows += p.rows % 2;  // whole pooling windows
  p.bands = (g.out_h + p.rows - 1) / p.rows;
  p.count = g.batch * p.bands;
  return p;
}

ChunkPlan samples_of(const Conv2dGeometry& g, int64_t samples) {
  ChunkPlan p;
  p.samples = samples;
  p.rows = g.out_h;
  p.count = (g.batch + samples - 1) / samples;
  return p;
}

ChunkPlan weight_plan(const Conv2dGeometry& g) {
  if (g.out_pixels() > kBandAbove) return banded(g);
  int64_t s = 1;
  while (s < kWeightGradGroup && s * g.out_pixels() < 128) s *= 2;
  return samples_of(g, s);
}

ChunkPlan pass_plan(const Conv2dGeometry& g, int threads) {
  if (g.out_pixels() > kBandAbove) return banded(g);
  const int64_t t = std::max(threads, 1);
  const int64_t columns = g.batch * g.out_pixels();
  const int64_t chunks = t * std::max<int64_t>(1, (columns + kChunkColumns * t - 1) / (kChunkColumns * t));
  return samples_of(g, std::max<int64_t>(1, (g.batch + chunks - 1) / chunks));
}

}  // namespace convoy
