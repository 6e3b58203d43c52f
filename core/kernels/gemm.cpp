#include "core/kernels/gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "core/error.hpp"
#include "core/kernels/cpu_features.hpp"
#include "core/kernels/gemm_microkernels.hpp"
#include "core/tensor.hpp"

namespace convoy {
namespace {

// Note [GEMM blocking]
// Goto/BLIS order: for each block of NC columns of C, for each KC slice of the depth, pack
// op(B)[KC, NC] into NR-wide panels (L2/L3 resident); for each MC rows, pack op(A)[MC, KC]
// into MR-tall panels (L2 resident); then the microkernel sweeps the tiles. Transposes are
// absorbed by the packing, so one microkernel serves all four cases.
// KC = 192 keeps a 32-wide B tile (24 KB) and a 12-row A panel (9 KB) together in a 48 KB L1;
// the depth is cut into equal slices of at most KC, so no slice is left short.
constexpr int64_t kKc = 192, kMc = 96, kNc = 1024;

// Per-thread packing buffers, grown once and reused: no allocation in the steady state.
struct PackBuffers {
  std::shared_ptr<float[]> a, b;
  int64_t a_size = 0, b_size = 0;
  float* get_a(int64_t n) {
    if (n > a_size) a = allocate_aligned(a_size = n);
    return a.get();
  }
  float* get_b(int64_t n) {
    if (n > b_size) b = allocate_aligned(b_size = n);
    return b.get();
  }
};

PackBuffers& buffers() {
  thread_local PackBuffers b;
  return b;
}

// Packs rows [i0, i0+rows) x depth [p0, p0+kc) of op(A) into one panel [kc][width], rows
// beyond `rows` zero.
void pack_a_panel(Trans t, const float* a, int64_t lda, int64_t i0, int64_t rows, int64_t p0, int64_t kc,
                  int64_t width, TransposePack transpose, float* panel) {
  if (t == Trans::no) {
    transpose(a + i0 * lda + p0, lda, rows, kc, width, panel);
  } else if (rows == width) {
    // A is [k, m]: each depth step's rows are contiguous. Copies of a known size are inlined
    // (a call to memcpy per 48 bytes cost more than the copy).
    const float* src = a + p0 * lda + i0;
    switch (width) {
      case 12:
        for (int64_t p = 0; p < kc; ++p) __builtin_memcpy(panel + p * 12, src + p * lda, 12 * sizeof(float));
        break;
      case 8:
        for (int64_t p = 0; p < kc; ++p) __builtin_memcpy(panel + p * 8, src + p * lda, 8 * sizeof(float));
        break;
      default:
        for (int64_t p = 0; p < kc; ++p) std::memcpy(panel + p * width, src + p * lda, width * sizeof(float));
    }
  } else {
    for (int64_t p = 0; p < kc; ++p) {
      for (int64_t i = 0; i < rows; ++i) panel[p * width + i] = a[(p0 + p) * lda + i0 + i];
      for (int64_t i = rows; i < width; ++i) panel[p * width + i] = 0.0f;
    }
  }
}

// The tiles of a block of mc rows (Note [GEMM row tiles]).
int64_t row_tiles(int64_t mc, const MicroKernelInfo& mk, RowTile* tiles) {
  const RowSplit split = split_rows(mc, mk);
  for (int64_t i = 0; i < split.count(); ++i) tiles[i] = split.at(i);
  return split.count();
}

// Where op(B)'s and C's rows are: a matrix with a row stride, or a table of row addresses
// (gemm_rows, gemm_c_rows). B may also be transposed (then it is a strided [n, k] matrix).
struct BSource {
  const float* base;
  int64_t ld;
  const float* const* rows = nullptr;
  Trans trans = Trans::no;
  const float* row(int64_t p) const { return rows != nullptr ? rows[p] : base + p * ld; }
};

struct CTarget {
  float* base;
  int64_t ld;
  float* const* rows = nullptr;
  float* row(int64_t i) const { return rows != nullptr ? rows[i] : base + i * ld; }
};

// Packs depth [p0, p0+kc) x columns [j0, j0+nc) of op(B) into NR-wide panels, zero-padded.
void pack_b(const BSource& b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int64_t nr, TransposePack transpose,
            float* out) {
  for (int64_t jr = 0; jr < nc; jr += nr) {
    const int64_t cols = std::min(nr, nc - jr);
    float* panel = out + jr * kc;
    if (b.trans == Trans::no) {
      for (int64_t p = 0; p < kc; ++p) {
        float* dst = panel + p * nr;
        std::memcpy(dst, b.row(p0 + p) + j0 + jr, cols * sizeof(float));
        std::fill(dst + cols, dst + nr, 0.0f);
      }
    } else {
      // B is [n, k]: transposed in register blocks.
      transpose(b.base + (j0 + jr) * b.ld + p0, b.ld, cols, kc, nr, panel);
    }
  }
}

// The one driver under gemm, gemm_rows and gemm_c_rows.
void gemm_serial(Trans trans_a, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const BSource& b,
                 float beta, const CTarget& c) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    if (beta == 0.0f)
      for (int64_t i = 0; i < m; ++i) std::fill(c.row(i), c.row(i) + n, 0.0f);
    return;
  }
  const MicroKernelInfo mk = microkernel_for(active_isa());
  CONVOY_ASSERT((b.rows == nullptr || mk.kernel_rows != nullptr) && (c.rows == nullptr || mk.kernel_c_rows != nullptr),
                "row tables need row-table microkernels (gemm_rows_supported)");
  CONVOY_ASSERT(b.rows == nullptr || c.rows == nullptr, "B and C cannot both be row tables");
  const int64_t mr = mk.mr, nr = mk.nr;
  PackBuffers& buf = buffers();
  const int64_t nc_max = std::min(kNc, (n + nr - 1) / nr * nr);
  const int64_t mc_max = std::min(kMc, (m + mr - 1) / mr * mr);
  const int64_t kc_max = (k + (k + kKc - 1) / kKc - 1) / ((k + kKc - 1) / kKc);
  float* bpack = buf.get_b(nc_max * kc_max);
  float* apack = buf.get_a(mc_max * kc_max);
  alignas(64) float edge[32 * 16];  // one tile for the matrix edges (MR x NR <= 12 x 32)
  // A row-major B with short rows (or a row table) is read in place in its full NR-wide tiles:
  // with the few rows of A convolutions have, packing B would cost as much as multiplying it.
  // Long rows put every row of a tile on another page (TLB misses), so those B are packed, as
  // are a transposed B and the last, partial tile.
  constexpr int64_t kDirectMaxRow = 1024;  // floats
  const bool direct_b = b.trans == Trans::no && (b.rows != nullptr || b.ld <= kDirectMaxRow);

  for (int64_t jc = 0; jc < n; jc += kNc) {
    const int64_t nc = std::min(kNc, n - jc);
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      const int64_t kc = std::min(kc_max, k - pc);
      const bool accumulate = pc > 0 || beta != 0.0f;
      const int64_t packed_from = direct_b ? nc / nr * nr : 0;
      pack_b(b, pc, kc, jc + packed_from, nc - packed_from, nr, mk.pack_transposed, bpack);
      for (int64_t ic = 0; ic < m; ic += kMc) {
        const int64_t mc = std::min(kMc, m - ic);
        RowTile tiles[kMc];
        const int64_t tile_count = row_tiles(mc, mk, tiles);
        for (int64_t t = 0; t < tile_count; ++t)
          pack_a_panel(trans_a, a, lda, ic + tiles[t].row, std::min(tiles[t].height, mc - tiles[t].row), pc, kc,
                       tiles[t].height, mk.pack_transposed, apack + tiles[t].row * kc);
        for (int64_t jr = 0; jr < nc; jr += nr) {
          const int64_t cols = std::min(nr, nc - jr), col = jc + jr;
          const bool in_place = jr < packed_from;
          const bool through_rows = in_place && b.rows != nullptr;
          const float* b_tile = !in_place ? bpack + (jr - packed_from) * kc : through_rows ? nullptr : b.row(pc) + col;
          const int64_t b_stride = in_place ? b.ld : nr;
          for (int64_t t = 0; t < tile_count; ++t) {
            const RowTile& tile = tiles[t];
            const bool tall = tile.height == mk.mr;
            const float* panel = apack + tile.row * kc;
            const int64_t rows = std::min(tile.height, mc - tile.row);
            const int64_t i0 = ic + tile.row;
            // The tile into C directly, or into the edge tile and from there into C.
            const bool whole = rows == tile.height && cols == nr;
            if (whole && c.rows != nullptr) {
              (tall ? mk.kernel_c_rows : mk.kernel_c_rows_short)(kc, panel, b_tile, b_stride, c.rows + i0, col,
                                                                   accumulate);
              continue;
            }
            float* out = whole ? c.row(i0) + col : edge;
            const int64_t ld_out = whole ? c.ld : nr;
            const bool acc_out = whole && accumulate;
            if (through_rows)
              (tall ? mk.kernel_rows : mk.kernel_rows_short)(kc, panel, b.rows + pc, col, out, ld_out, acc_out);
            else
              (tall ? mk.kernel : mk.kernel_short)(kc, panel, b_tile, b_stride, out, ld_out, acc_out);
            if (whole) continue;
            for (int64_t i = 0; i < rows; ++i) {
              float* target = c.row(i0 + i) + col;
              for (int64_t j = 0; j < cols; ++j)
                target[j] = accumulate ? target[j] + edge[i * nr + j] : edge[i * nr + j];
            }
          }
        }
      }
    }
  }
}

}  // namespace

void gemm(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  gemm_serial(trans_a, m, n, k, a, lda, {.base = b, .ld = ldb, .trans = trans_b}, beta, {.base = c, .ld = ldc});
}

void gemm_rows(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* const* rows, float beta,
               float* c, int64_t ldc) {
  gemm_serial(Trans::no, m, n, k, a, lda, {.base = nullptr, .ld = 0, .rows = rows}, beta, {.base = c, .ld = ldc});
}

bool gemm_rows_supported() { return microkernel_for(active_isa()).kernel_rows != nullptr; }

void gemm_c_rows(Trans trans_a, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                 int64_t ldb, float* const* c_rows) {
  gemm_serial(trans_a, m, n, k, a, lda, {.base = b, .ld = ldb}, 1.0f, {.base = nullptr, .ld = 0, .rows = c_rows});
}

void gemm_parallel(Trans trans_a, Trans trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                   int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads) {
  // Below this much work a parallel region costs more than it saves.
  const bool small = static_cast<double>(m) * n * k < 64.0 * 64 * 64;
  if (threads <= 1 || small) {
    gemm(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Split the longer of C's two dimensions in whole tiles, so no two threads write one element
  // and each element's sum runs in the same order whatever the thread count.
  const int64_t mr = microkernel_for(active_isa()).mr, nr = microkernel_for(active_isa()).nr;
  const bool split_rows = m / mr >= n / nr;
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    if (split_rows) {
      const int64_t tiles = (m + mr - 1) / mr;
      const int64_t i0 = std::min(m, tiles * t / nt * mr), i1 = std::min(m, tiles * (t + 1) / nt * mr);
      const float* a_rows = trans_a == Trans::no ? a + i0 * lda : a + i0;
      if (i1 > i0) gemm(trans_a, trans_b, i1 - i0, n, k, a_rows, lda, b, ldb, beta, c + i0 * ldc, ldc);
    } else {
      const int64_t tiles = (n + nr - 1) / nr;
      const int64_t j0 = std::min(n, tiles * t / nt * nr), j1 = std::min(n, tiles * (t + 1) / nt * nr);
      const float* b_cols = trans_b == Trans::no ? b + j0 : b + j0 * ldb;
      if (j1 > j0) gemm(trans_a, trans_b, m, j1 - j0, k, a, lda, b_cols, ldb, beta, c + j0, ldc);
    }
  }
}

}  // namespace convoy
