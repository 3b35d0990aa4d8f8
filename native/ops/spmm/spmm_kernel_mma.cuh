// The tensor-core SpMM kernels (sm_80+, mma.m16n8k8 tf32 run three times per product -- 3xTF32 --
// so results keep float32-class accuracy; see spmm_cuda_layout.h):
//   spmm_blocked (SMaT): one CTA per 16-row panel of the row-reordered blocked form built by
//     SparseMatrix.prepare({ format: 'blocked' }); each nonzero 16x8 block is an A fragment, the 8
//     rows of B it touches the B fragments; the epilogue writes row perm[i] (undoing the reordering).
//   spmm_tiles (Flash-LLM, load-as-sparse / compute-as-dense): N <= 64; 64-row CTAs walk K in steps
//     of 32, scatter the CSR entries of the step into a zeroed dense smem tile, copy B's slab beside
//     it, and run dense mma over it; steps where no row of the CTA has an entry are skipped.
// Below sm_80 the mma wrapper compiles to nothing; the host never launches these there.
#pragma once
#include "../../cuda/sm80.cuh"
#include "../gemm/gemm_cuda_layout.h"
#include "spmm_kernel_csr.cuh"

namespace tk::cuspmm {

struct BlockedArgs {
  const int32_t* panel_ptr;   // [panels + 1]
  const int32_t* block_col;   // [blocks]
  const float* block_values;  // [blocks][16][8]
  const int32_t* perm;        // [rows]: blocked row i is row perm[i]
  int64_t rows, cols, blocks, n;
  const float* b;
  const float* c;
  float* out;
  float alpha, beta;
  unsigned long long* err;  // err[2]: first bad blocked-format position (blocks, then rows + blocks for perm)
};

__device__ __forceinline__ uint32_t tf32_hi(float x) {
#if __CUDA_ARCH__ >= 800
  uint32_t y;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(y) : "f"(x));
  return y;
#else
  return __float_as_uint(x);
#endif
}
// x = hi + lo (hi, lo tf32).
__device__ __forceinline__ void tf32_split(float x, uint32_t& hi, uint32_t& lo) {
  hi = tf32_hi(x);
  lo = tf32_hi(x - __uint_as_float(hi));
}

// d += a * b in 3xTF32: small cross terms first, then the big one.
__device__ __forceinline__ void mma3(float (&d)[4], const uint32_t (&ah)[4], const uint32_t (&al)[4], const uint32_t (&bh)[2],
                                     const uint32_t (&bl)[2]) {
  sm80::mma(d, al, bh, float{});
  sm80::mma(d, ah, bl, float{});
  sm80::mma(d, ah, bh, float{});
}

__device__ __forceinline__ void store_out(float* out, const float* c, float alpha, float beta, int64_t o, float acc) {
  float y = alpha * acc;
  if (c) y = fmaf(beta, c[o], y);
  out[o] = y;
}

// grid: (panels, ceil(n / blk_cta_cols(NT))).
template <int NT>
__global__ void __launch_bounds__(kBlkWarps * 32) spmm_blocked(BlockedArgs p) {
  static_assert(NT == 1 || NT == 2 || NT == 4, "m16n8 tiles per warp");
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t panel = blockIdx.x;
  const int64_t n0 = int64_t(blockIdx.y) * blk_cta_cols(NT) + warp * 8 * NT;  // this warp's first column
  if (n0 >= p.n) return;
  const int64_t b0 = p.panel_ptr[panel], b1 = p.panel_ptr[panel + 1];
  if (!(0 <= b0 && b0 <= b1 && b1 <= p.blocks)) {
    if (lane == 0) record_bad(p.err + 2, b0 >= 0 && b0 < p.blocks ? b0 : 0);
    return;
  }
  float acc[NT][4] = {};
  for (int64_t blk = b0; blk < b1; ++blk) {
    const int64_t col0 = p.block_col[blk];
    if (col0 < 0 || col0 >= p.cols || (col0 & 7)) {
      if (lane == 0) record_bad(p.err + 2, blk);
      continue;
    }
    // (16, 8) block, row-major: this lane's four A elements.
    uint32_t ah[4], al[4];
    const float* vals = p.block_values + blk * (kBlockRows * kBlockCols);
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const RowCol e = frag_a(lane, r);
      tf32_split(__ldg(vals + blk_value_index(e.row, e.col)), ah[r], al[r]);
    }
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      // (8, 8) slab of B: rows col0 .. col0 + 7 (zero past cols), columns n0 + 8t ..
      uint32_t bh[2], bl[2];
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const RowCol e = frag_b(lane, r);
        const int64_t k = col0 + e.row, nn = n0 + 8 * t + e.col;
        tf32_split(k < p.cols && nn < p.n ? __ldg(p.b + k * p.n + nn) : 0.0f, bh[r], bl[r]);
      }
      mma3(acc[t], ah, al, bh, bl);
    }
  }
  // Epilogue: blocked row panel*16 + row is original row perm[...]; each original row once.
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const RowCol e = frag_c(lane, i);
    const int64_t br = panel * kBlockRows + e.row;
    if (br >= p.rows) continue;
    const int64_t row = p.perm[br];
    if (row < 0 || row >= p.rows) {
      record_bad(p.err + 2, p.blocks + br);
      continue;
    }
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      const int64_t nn = n0 + 8 * t + e.col;
      if (nn < p.n) store_out(p.out, p.c, p.alpha, p.beta, row * p.n + nn, acc[t][i]);
    }
  }
}

// grid: ceil(rows / kTileRows). Dynamic smem: tile_smem_floats(NT) floats.
template <class I, int NT>
__global__ void __launch_bounds__(kTileWarps * 32) spmm_tiles(CsrArgs p) {
  static_assert(NT == 1 || NT == 2 || NT == 4 || NT == 8, "m16n8 tiles per warp");
  extern __shared__ float smem[];
  float* as = smem;                                // (kTileRows, kTileK) dense A tile, stride tile_a_stride()
  float* bs = smem + kTileRows * tile_a_stride();  // (kTileK, 8*NT) slab of B, stride tile_b_stride(NT)
  constexpr int SA = tile_a_stride(), SB = tile_b_stride(NT), BN = 8 * NT;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t row0 = int64_t(blockIdx.x) * kTileRows;
  // Threads 0..63 each own one row's cursor through its (sorted) entries.
  int64_t cur = 0, end = 0;
  const int64_t my_row = row0 + tid;
  if (tid < kTileRows && my_row < p.rows) {
    cur = ld_index<I>(p.row_ptr, my_row), end = ld_index<I>(p.row_ptr, my_row + 1);
    if (!(0 <= cur && cur <= end && end <= p.nnz)) {
      record_bad(p.err + 1, my_row);
      cur = end = 0;
    }
  }
  float acc[NT][4] = {};
  for (int64_t k0 = 0; k0 < p.cols; k0 += kTileK) {
    // Skip steps in which no row of the CTA has an entry (columns are sorted within rows).
    const bool mine = cur < end && ld_index<I>(p.col_idx, cur) < k0 + kTileK;
    if (!__syncthreads_or(mine)) {
      continue;
    }
    for (int i = tid; i < kTileRows * kTileK; i += kTileWarps * 32) as[(i / kTileK) * SA + i % kTileK] = 0.0f;
    for (int i = tid; i < kTileK * BN; i += kTileWarps * 32) {
      const int kk = i / BN, nn = i % BN;
      bs[kk * SB + nn] = k0 + kk < p.cols && nn < p.n ? __ldg(p.b + (k0 + kk) * p.n + nn) : 0.0f;
    }
    __syncthreads();
    if (tid < kTileRows) {
      while (cur < end) {
        const int64_t c = ld_index<I>(p.col_idx, cur);
        if (c >= k0 + kTileK) break;
        if (c < k0 || c >= p.cols) {
          if (c < 0 || c >= p.cols) record_bad(p.err, cur);  // c < k0 in range: unsorted; skipped
        } else {
          as[tid * SA + int(c - k0)] += __ldg(p.values + cur);
        }
        ++cur;
      }
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kTileK; kk += 8) {
      uint32_t ah[4], al[4];
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const RowCol e = frag_a(lane, r);
        tf32_split(as[(warp * 16 + e.row) * SA + kk + e.col], ah[r], al[r]);
      }
#pragma unroll
      for (int t = 0; t < NT; ++t) {
        uint32_t bh[2], bl[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          const RowCol e = frag_b(lane, r);
          tf32_split(bs[(kk + e.row) * SB + 8 * t + e.col], bh[r], bl[r]);
        }
        mma3(acc[t], ah, al, bh, bl);
      }
    }
    __syncthreads();  // the tiles are refilled next step
  }
  // Entries left over hold columns >= cols (every column < cols was consumed in its step): bad.
  if (tid < kTileRows && cur < end) record_bad(p.err, cur);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const RowCol e = frag_c(lane, i);
    const int64_t row = row0 + warp * 16 + e.row;
    if (row >= p.rows) continue;
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      const int64_t nn = 8 * t + e.col;
      if (nn < p.n) store_out(p.out, p.c, p.alpha, p.beta, row * p.n + nn, acc[t][i]);
    }
  }
}

}  // namespace tk::cuspmm
