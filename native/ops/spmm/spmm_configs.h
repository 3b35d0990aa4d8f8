// Launch shapes of the CUDA SpMM kernels, as data with their reasons (spmm_cuda.cu picks from these).
#pragma once
#include <cstdint>

namespace tk::spmm_cuda_configs {

// CSR: lanes per row group by N, so that a group's tile (G lanes x 4 floats) covers N without idle
// lanes up to 128 columns; wider N takes more column tiles (grid.y) and re-reads A's row from L2.
//   N <= 16: G = 4 (8 rows per warp: short rows of power-law graphs keep the warp busy)
//   N <= 32: G = 8,  N <= 64: G = 16,  else G = 32 (128 columns per tile, one float4 per lane)
// Unaligned N (N % 4 != 0 or a base not 16-byte aligned) takes VEC = 1 with the same lane counts
// chosen on N alone (N <= 4: 4, <= 8: 8, <= 16: 16, else 32).
inline int csr_group_lanes(int64_t n, int vec) {
  const int64_t per = vec == 4 ? 4 : 1;
  if (n <= 4 * per) return 4;
  if (n <= 8 * per) return 8;
  if (n <= 16 * per) return 16;
  return 32;
}

// Rows with more entries than this are split into chunks of this many entries (partial sums merged
// in chunk order): 1024 entries keep one group's serial walk near the median row's cost times a few
// hundred, while the chunk list stays tiny for ordinary matrices.
constexpr int64_t kCsrSplit = 1024;

// Blocked (SMaT): accumulator tiles per warp by N. 4 warps x 8*NT columns per CTA.
//   N <= 32: NT = 1 (a CTA covers 32 columns: fewer idle warps at small N)
//   N <= 64: NT = 2;  else NT = 4 (128 columns per CTA: each block's A fragment feeds 4 mma tiles)
inline int blk_tiles(int64_t n) { return n <= 32 ? 1 : n <= 64 ? 2 : 4; }

// Load-as-sparse / compute-as-dense (Flash-LLM): for N <= 64 only; NT = ceil(N / 8) rounded up to
// a power of two (1, 2, 4, 8) so four instantiations cover every N.
inline int tile_tiles(int64_t n) { return n <= 8 ? 1 : n <= 16 ? 2 : n <= 32 ? 4 : 8; }
constexpr int64_t kTileMaxN = 64;

// `auto`: which kernel for a matrix (density = nnz / (rows * cols), fill = nnz / (16*8*blocks)).
//   Flash-LLM tiles when N <= 64 and density >= 5% (pruned weights at 70-95% sparsity): dense smem
//     tiles waste at most 20x the MACs on tensor cores that run 8-16x faster than FMA, and the
//     weight is streamed once per 64-row panel instead of per row group.
//   SMaT blocks when the blocked form exists and its fill >= 1/8 (at least 16 of 128 block entries
//     are nonzeros: block values then cost at most 2x CSR's 8 bytes per nonzero).
//   CSR otherwise (very sparse, scattered matrices: graphs).
constexpr double kTileMinDensity = 0.05;
constexpr double kBlockedMinFill = 0.125;

}  // namespace tk::spmm_cuda_configs
