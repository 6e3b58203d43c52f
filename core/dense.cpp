#include "core/dense.hpp"

#include <omp.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/kernels/gemm.hpp"
#include "core/kernels/thread_count.hpp"
#include "core/kernels/tree_sum.hpp"

namespace convoy {
namespace {

// Weight-gradient tiles: rows [in] x columns [units] of the weight. A thread holds one partial
// per sample group for its tile, about kTileFloats in all (256 K floats, 1 MiB).
constexpr int64_t kTileFloats = int64_t{1} << 18;
constexpr int64_t kTileColumns = 256;  // a multiple of every microkernel's width

int64_t groups(int64_t batch) { return (batch + kWeightGradGroup - 1) / kWeightGradGroup; }

struct Tiling {
  int64_t rows, columns;  // of one tile
  int64_t row_tiles, column_tiles;
  int64_t floats() const { return rows * columns; }  // one group's partial of a tile
};

// Depends on the layer's shape and the group count only, never on the thread count.
Tiling tiling(int64_t in, int64_t units, int64_t group_count) {
  Tiling t;
  t.columns = std::min(units, kTileColumns);
  t.rows = std::clamp<int64_t>(kTileFloats / (group_count * t.columns), 1, in);
  t.row_tiles = (in + t.rows - 1) / t.rows;
  t.column_tiles = (units + t.columns - 1) / t.columns;
  return t;
}

}  // namespace

Dense::Dense(DenseOptions options) : options_(options) {
  CONVOY_CHECK(options_.units > 0, ConfigError, "dense: units must be positive, found ", options_.units);
}

Shape Dense::output_shape(std::span<const Shape> inputs) const {
  check_single_input(*this, inputs, 2);
  return Shape{inputs[0][0], options_.units};
}

std::vector<ParameterSpec> Dense::parameter_specs(std::span<const Shape> inputs) const {
  const int64_t in = inputs[0][1];
  std::vector<ParameterSpec> specs = {{"weight", Shape{in, options_.units}, options_.init, in, options_.units}};
  if (options_.bias) specs.push_back({"bias", Shape{options_.units}, Init::zeros, 0, 0});
  return specs;
}

void Dense::bind_parameters(std::span<Tensor> parameters, std::span<Tensor> gradients) {
  weight_ = parameters[0];
  weight_grad_ = gradients[0];
  if (options_.bias) {
    bias_ = parameters[1];
    bias_grad_ = gradients[1];
  }
}

int64_t Dense::scratch_floats(std::span<const Shape> inputs, int threads) const {
  const int64_t units = options_.units, group_count = groups(inputs[0][0]);
  // Every group's bias partial, then per thread every group's partial of one tile: at most
  // kTileFloats, or one row of a tile per group if that is more (also for any smaller batch).
  const int64_t per_thread = std::max(kTileFloats, group_count * std::min(units, kTileColumns));
  return group_count * units + std::max(threads, 1) * per_thread;
}

double Dense::forward_flops(std::span<const Shape> inputs) const {
  return 2.0 * inputs[0][0] * inputs[0][1] * options_.units;
}

void Dense::forward(std::span<const Tensor> inputs, Tensor& output, const PassContext& ctx) {
  // input [N, in]; weight [in, units]; output [N, units]
  const int64_t n = inputs[0].shape()[0], in = inputs[0].shape()[1], units = options_.units;
  float* out = output.data();
  if (options_.bias) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < units; ++j) out[i * units + j] = bias_[j];
  }
  gemm_parallel(Trans::no, Trans::no, n, units, in, inputs[0].data(), in, weight_.data(), units,
                options_.bias ? 1.0f : 0.0f, out, units, ctx.threads);
}

void Dense::backward(std::span<const Tensor> inputs, const Tensor& output, const Tensor& output_grad,
                     std::span<Tensor> input_grads, const PassContext& ctx) {
  // input [N, in]; output_grad [N, units]; weight, weight_grad [in, units]; bias_grad [units]
  const int64_t n = inputs[0].shape()[0], in = inputs[0].shape()[1], units = options_.units;
  const float* x = inputs[0].data();
  const float* og = output_grad.data();
  if (n == 0) return;
  const int64_t group_count = groups(n);
  const Tiling t = tiling(in, units, group_count);
  const int64_t tiles = t.row_tiles * t.column_tiles, per_thread = group_count * t.floats();
  float* bias_partials = ctx.scratch;  // [groups, units]
  // Note [Fixed summation tree]: each tile of weight_grad gets, per group, the partial
  // input^T [rows, S] * output_grad [S, columns] over the group's S <= 8 samples (a GEMM of
  // depth S, overwriting), then the groups' tree sum. Tiles are independent: any thread count
  // gives the same bits.
#pragma omp parallel num_threads(clamp_threads(ctx.threads, tiles))
  {
    float* partials = ctx.scratch + group_count * units + omp_get_thread_num() * per_thread;
#pragma omp for schedule(static)
    for (int64_t tile = 0; tile < tiles; ++tile) {
      const int64_t i0 = tile / t.column_tiles * t.rows, j0 = tile % t.column_tiles * t.columns;
      const int64_t rows = std::min(t.rows, in - i0), columns = std::min(t.columns, units - j0);
      for (int64_t group = 0; group < group_count; ++group) {
        const int64_t s0 = group * kWeightGradGroup, depth = std::min(kWeightGradGroup, n - s0);
        gemm(Trans::yes, Trans::no, rows, columns, depth, x + s0 * in + i0, in, og + s0 * units + j0, units, 0.0f,
             partials + group * t.floats(), columns);
      }
      tree_sum_in_place(partials, group_count, rows * columns, t.floats());
      for (int64_t i = 0; i < rows; ++i) {
        float* wg = weight_grad_.data() + (i0 + i) * units + j0;
        const float* sum = partials + i * columns;
#pragma omp simd
        for (int64_t j = 0; j < columns; ++j) wg[j] += sum[j];
      }
    }
  }
  if (options_.bias) {
    // bias_partials [groups, units]: each group's samples in order, then the tree.
    for (int64_t group = 0; group < group_count; ++group) {
      float* partial = bias_partials + group * units;
      const int64_t s0 = group * kWeightGradGroup, s1 = std::min(n, s0 + kWeightGradGroup);
      std::copy(og + s0 * units, og + (s0 + 1) * units, partial);
      for (int64_t i = s0 + 1; i < s1; ++i) {
#pragma omp simd
        for (int64_t j = 0; j < units; ++j) partial[j] += og[i * units + j];
      }
    }
    tree_sum(bias_partials, group_count, units, units, bias_grad_.data());
  }
  // input_grad [N, in] = output_grad [N, units] * weight^T [units, in]
  if (!input_grads[0].empty())
    gemm_parallel(Trans::no, Trans::yes, n, in, units, og, units, weight_.data(), units, 0.0f,
                  input_grads[0].data(), in, ctx.threads);
}

}  // namespace convoy
