// Index math of the CUDA SpMM kernels as constexpr functions that compile for the host too: the
// kernels (spmm_kernel_csr.cuh, spmm_kernel_mma.cuh) call them and the native self-test
// (native/tests/spmm_cuda_checks.h) checks them on the CPU -- lane ownership of every output element,
// long-row chunking, the tf32 split, the shared-memory strides' bank conflicts -- and emulates the
// tensor-core kernels' main loops against a reference.
//
// The tensor-core kernels use mma.m16n8k8.tf32, whose fragments are the GEMM's (gemm_cuda_layout.h,
// byte form, checked there against the PTX ISA tables); here they are in float elements:
//   A (16 x 8):  register r of lane l holds (row g + 8*(r&1), k t + 4*(r>>1))
//   B (8 x 8):   register r holds (k t + 4*r, column g)
//   C (16 x 8):  element i at (row g + 8*(i>>1), column 2t + (i&1))      g = l / 4, t = l % 4
#pragma once
#include <cstdint>
#include <cstring>

#include "../gemm/gemm_cuda_layout.h"

namespace tk::cuspmm {

using cugemm::RowCol;

// ---- CSR kernel ---------------------------------------------------------------------------------
// A warp is split into 32 / G "row groups" of G lanes; a group owns one row (or one chunk of a long
// row) and a tile of G * VEC output columns, lane j of the group holding VEC consecutive columns.
// The CTA has kCsrWarps warps; grid.x walks row slots, grid.y column tiles.
constexpr int kCsrWarps = 4;
TK_HD constexpr int csr_rows_per_cta(int g) { return kCsrWarps * (32 / g); }
TK_HD constexpr int csr_tile_cols(int g, int vec) { return g * vec; }
// Row slot (within the CTA) and first column (within the column tile) of thread `tid`.
TK_HD constexpr RowCol csr_thread(int tid, int g, int vec) { return {(tid >> 5) * (32 / g) + (tid & 31) / g, ((tid & 31) % g) * vec}; }
// The lanes of one row group, as a shuffle mask.
TK_HD constexpr unsigned csr_group_mask(int lane, int g) { return g == 32 ? 0xffffffffu : ((1u << g) - 1u) << ((lane / g) * g); }

// Long rows: a row with more than `split` entries is cut into ceil(len / split) chunks of `split`
// entries (the last shorter); each chunk's partial sums go to a workspace row and a merge kernel adds
// them in chunk order, so results do not depend on scheduling.
TK_HD constexpr int64_t chunks_of(int64_t len, int64_t split) { return len <= split ? 0 : (len + split - 1) / split; }
TK_HD constexpr int64_t chunk_begin(int64_t row_begin, int64_t chunk, int64_t split) { return row_begin + chunk * split; }
TK_HD constexpr int64_t chunk_end(int64_t row_begin, int64_t row_end, int64_t chunk, int64_t split) {
  return row_begin + (chunk + 1) * split < row_end ? row_begin + (chunk + 1) * split : row_end;
}

// ---- mma.m16n8k8 tf32 fragments, in float elements --------------------------------------------
TK_HD constexpr RowCol frag_a(int lane, int r) { return {cugemm::frag_a(lane, r).row, cugemm::frag_a(lane, r).col / 4}; }
TK_HD constexpr RowCol frag_b(int lane, int r) { return {cugemm::frag_b(lane, r).col / 4, cugemm::frag_b(lane, r).row}; }  // (k, n)
TK_HD constexpr RowCol frag_c(int lane, int i) { return cugemm::frag_c(lane, i); }

// tf32 as cvt.rna.tf32.f32 produces it (round to 10 mantissa bits, ties away from zero), for the
// host emulation; the kernels use the instruction. 3xTF32: x = hi + lo with hi = tf32(x),
// lo = tf32(x - hi); hi*hi + hi*lo + lo*hi leaves an error of about 2^-21 |x y| per product, so the
// tensor-core paths keep float32-class accuracy (the GPU suite's bound says how much).
inline float tf32_rna_host(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
  float y;
  std::memcpy(&y, &u, 4);
  return y;
}

// ---- blocked (SMaT) kernel ----------------------------------------------------------------------
// A CTA takes one 16-row panel and kBlkWarps warps; warp w owns output columns
// n0 + w * 8 * NT + [0, 8 * NT) as NT m16n8 accumulator tiles. Block values are 16 x 8 row-major.
constexpr int kBlkWarps = 4;
constexpr int kBlockRows = 16, kBlockCols = 8;
TK_HD constexpr int blk_cta_cols(int nt) { return kBlkWarps * 8 * nt; }
TK_HD constexpr int blk_value_index(int row, int k) { return row * kBlockCols + k; }

// ---- load-as-sparse / compute-as-dense (Flash-LLM) kernel --------------------------------------
// A CTA owns kTileRows rows and every column of B (N <= 64: NT = N/8 rounded up, m16n8 tiles) and
// walks K in steps of kTileK: the rows' nonzeros in the step are scattered into a zeroed dense
// (kTileRows x kTileK) smem tile, the (kTileK x 8*NT) slab of B is copied beside it, and each warp
// runs 3xTF32 mma over its 16 rows.
constexpr int kTileWarps = 4;
constexpr int kTileRows = 16 * kTileWarps;  // 64
constexpr int kTileK = 32;
// Row strides (floats) chosen so a fragment read -- 8 rows g x 4 columns t for A, 4 rows t x 8
// columns g for B -- touches 32 different banks (checked by the self-test).
TK_HD constexpr int tile_a_stride() { return kTileK + 4; }
TK_HD constexpr int tile_b_stride(int nt) { return nt * 8 <= 8 ? 8 : nt * 8 + 8; }
TK_HD constexpr int tile_smem_floats(int nt) { return kTileRows * tile_a_stride() + kTileK * tile_b_stride(nt); }

}  // namespace tk::cuspmm
