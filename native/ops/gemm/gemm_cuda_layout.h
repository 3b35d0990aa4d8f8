// Index math of the CUDA GEMM kernels, as plain constexpr functions that compile for the host too:
// the kernels (gemm_kernel_sm80.cuh, gemm_kernel_sm90.cuh) call them, and the native self-test
// (native/tests/gemm_cuda_checks.h) checks them on the CPU -- swizzle bijection and bank conflicts,
// fragment ownership against the PTX ISA tables, and a host emulation of one CTA's main loop.
//
// Units: shared-memory tiles are addressed in bytes. The three mma.sync shapes the sm80 kernel uses
// all consume 32 bytes of K per instruction (m16n8k16 f16/bf16, m16n8k8 tf32, m16n8k32 s8), and
// their A / B / C fragments have the same byte layout:
//   A (16 rows x 32 B): register r of lane l holds the 4 bytes at row g + 8*(r&1), byte 4t + 16*(r>>1)
//   B (8 cols x 32 B of K): register r holds the 4 bytes at column g, k-byte 4t + 16*r
//   C (16 x 8): element i at row g + 8*(i>>1), column 2t + (i&1)
// with g = lane / 4 (groupID), t = lane % 4 (threadID_in_group), as in the PTX ISA, "Matrix
// Fragments for mma.m16n8k16 / m16n8k8 / m16n8k32".
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define TK_HD __host__ __device__ __forceinline__
#else
#define TK_HD inline
#endif

namespace tk::cugemm {

struct RowCol {
  int row, col;
};

// ---- shared memory swizzle --------------------------------------------------------------------
// A tile row of `row_bytes` (a power of two, >= 32) is a run of 16-byte chunks. The chunk index is
// XORed with a few bits of the row so that the 8 rows one ldmatrix phase reads (8 consecutive rows,
// same logical chunk) land in 8 different 16-byte bank groups (32 banks x 4 B = 8 groups of 16 B):
//   >= 8 chunks per row: chunk ^ (row & 7)          (each row spans every bank group)
//      4 chunks per row: chunk ^ ((row >> 1) & 3)   (two rows per 128-byte line)
//      2 chunks per row: chunk ^ ((row >> 2) & 1)   (four rows per line)
// The XOR only touches bits below the chunk count, so each row's chunks stay in the row (bijection).
TK_HD constexpr int swizzle_chunk(int row, int chunk, int chunks_per_row) {
  return chunks_per_row >= 8   ? (chunk ^ (row & 7))
         : chunks_per_row == 4 ? (chunk ^ ((row >> 1) & 3))
         : chunks_per_row == 2 ? (chunk ^ ((row >> 2) & 1))
                               : chunk;
}

// Byte offset of (row, byte) in a swizzled tile with rows of row_bytes.
TK_HD constexpr int smem_offset(int row, int byte, int row_bytes) {
  return row * row_bytes + swizzle_chunk(row, byte >> 4, row_bytes >> 4) * 16 + (byte & 15);
}

// ---- global -> shared copy --------------------------------------------------------------------
// A stage tile is `rows` x `row_bytes`, copied in 16-byte chunks. Chunk q (0 .. rows*row_bytes/16)
// is copied by thread q % threads in round q / threads; consecutive threads take consecutive chunks
// of a row, so a warp reads 512 contiguous bytes per row segment (coalesced) and each group of 8
// threads writes 8 different bank groups (checked by the self-test).
TK_HD constexpr RowCol copy_chunk(int q, int row_bytes) {
  return {q / (row_bytes >> 4), (q % (row_bytes >> 4)) * 16};  // (row, byte)
}

// ---- mma fragments (byte form, shared by the three shapes) ------------------------------------
TK_HD constexpr RowCol frag_a(int lane, int reg) {  // (row, k byte) of the register's 4 bytes
  return {(lane >> 2) + 8 * (reg & 1), 4 * (lane & 3) + 16 * (reg >> 1)};
}
TK_HD constexpr RowCol frag_b(int lane, int reg) {  // (n, k byte)
  return {lane >> 2, 4 * (lane & 3) + 16 * reg};
}
TK_HD constexpr RowCol frag_c(int lane, int i) {  // (row, col) of accumulator element i
  return {(lane >> 2) + 8 * (i >> 1), 2 * (lane & 3) + (i & 1)};
}

// ---- ldmatrix addressing -----------------------------------------------------------------------
// ldmatrix.x4 reads four 8x8 b16 matrices; lane l supplies the address of row l % 8 of matrix l / 8,
// and (without .trans) receives in register j the 4 bytes at row l / 4, bytes 4 * (l % 4) of matrix
// j. With .trans it receives the two b16 at (row 2 * (l % 4) + {0, 1}, column l / 4).
//
// A, k-major smem (rows m, bytes of k): matrix j = rows 8*(j&1).., bytes 16*(j>>1)..: registers
// 0..3 come out exactly as frag_a's registers 0..3. Offset relative to (16-row block, 32-byte step).
TK_HD constexpr RowCol ldsm_a_kmajor(int lane) { return {(lane & 7) + 8 * ((lane >> 3) & 1), 16 * (lane >> 4)}; }
// B, k-major smem (rows n, bytes of k), two 8-column blocks at once: matrix j = n-block j>>1,
// k bytes 16*(j&1): registers {0,1} are frag_b of block 0, {2,3} of block 1.
TK_HD constexpr RowCol ldsm_b_kmajor(int lane) { return {(lane & 7) + 8 * (lane >> 4), 16 * ((lane >> 3) & 1)}; }
// 16-bit only, .trans, m-major smem (rows k, elements of m): matrix j = k rows 8*(j>>1).., m
// elements 8*(j&1)..: lane gets (m = g, k = 2t, 2t+1) = frag_a register j. Returns (k row, m elem).
TK_HD constexpr RowCol ldsm_a_mnmajor(int lane) { return {(lane & 7) + 8 * (lane >> 4), 8 * ((lane >> 3) & 1)}; }
// 16-bit only, .trans, n-major smem (rows k, elements of n): matrix j = k rows 8*(j&1).., n block
// j>>1: registers {0,1} are frag_b of block 0, {2,3} of block 1. Returns (k row, n elem).
TK_HD constexpr RowCol ldsm_b_mnmajor(int lane) { return {(lane & 7) + 8 * ((lane >> 3) & 1), 8 * (lane >> 4)}; }

// ---- warp tiling --------------------------------------------------------------------------------
// Warp w of a CTA with warps_m x warps_n warps owns the warp tile at (wm * WTM, wn * WTN) with
// wm = w % warps_m, wn = w / warps_m.
TK_HD constexpr RowCol warp_origin(int warp, int warps_m, int wtm, int wtn) { return {(warp % warps_m) * wtm, (warp / warps_m) * wtn}; }

// ---- CTA rasterization ---------------------------------------------------------------------------
// Linear tile id -> (tile_m, tile_n), in groups of `group_m` tile rows walked column by column: the
// CTAs resident at one time share A rows and B columns, so their operands are read from L2 once.
TK_HD constexpr RowCol raster(int id, int tiles_m, int tiles_n, int group_m) {
  const int group_size = group_m * tiles_n;
  const int group = id / group_size;
  const int first_m = group * group_m;
  const int rows = (tiles_m - first_m) < group_m ? (tiles_m - first_m) : group_m;
  const int in_group = id % group_size;
  return {first_m + in_group % rows, in_group / rows};
}

// ---- sm90: wgmma shared-memory matrix descriptor ---------------------------------------------------
// PTX ISA "Matrix Descriptor Format": bits 0-13 start address >> 4, 16-29 leading-dimension byte
// offset >> 4, 32-45 stride-dimension byte offset >> 4, 49-51 base offset, 62-63 swizzle mode
// (0 none, 1 = 128B, 2 = 64B, 3 = 32B).
TK_HD constexpr uint64_t wgmma_desc(uint32_t smem_addr, uint32_t lbo_bytes, uint32_t sbo_bytes, uint32_t swizzle_mode) {
  return (uint64_t((smem_addr & 0x3FFFF) >> 4)) | (uint64_t((lbo_bytes & 0x3FFFF) >> 4) << 16) |
         (uint64_t((sbo_bytes & 0x3FFFF) >> 4) << 32) | (uint64_t(swizzle_mode & 3) << 62);
}
// The TMA 128B swizzle (CU_TENSOR_MAP_SWIZZLE_128B) and wgmma's 128B mode: inside each 1024-byte
// block of 8 rows x 128 B, 16-byte chunk c of row r sits at chunk c ^ (r % 8). Same function as
// swizzle_chunk with 8 chunks per row; the tile base must be 1024-byte aligned.
TK_HD constexpr int sm90_offset_128b(int row, int byte) { return smem_offset(row, byte, 128); }

// wgmma m64nNk16 accumulator ownership (PTX "Register Fragments", D matrix): warp w of the warp
// group holds rows 16w + g + 8*((i>>1)&1), columns 8*(i>>2) + 2t + (i&1), for i in [0, N/2).
TK_HD constexpr RowCol wgmma_frag_d(int thread_in_group, int i) {
  const int w = thread_in_group >> 5, lane = thread_in_group & 31;
  return {16 * w + (lane >> 2) + 8 * ((i >> 1) & 1), 8 * (i >> 2) + 2 * (lane & 3) + (i & 1)};
}

}  // namespace tk::cugemm
