// CUDA SpMM on CSR: row groups of G lanes (G = 4..32, by N), float4 loads of B, N tiled over grid.y,
// long rows cut into chunks whose partial sums a second kernel merges in chunk order. Every index is
// checked as it is read: a bad one is recorded (the smallest position wins, atomicMin) and skipped,
// so nothing is read out of bounds and the host reports the first bad entry.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "spmm_cuda_layout.h"

namespace tk::cuspmm {

// Everything the kernels need, by value. Sparse arrays are device copies; b, c, out row-major with
// leading dimension n. err[0]: smallest bad colIdx position, err[1]: smallest row with a bad rowPtr
// range, err[2]: smallest bad blocked-format position (block column or permutation); INT64_MAX = none.
struct CsrArgs {
  const void* row_ptr;
  const void* col_idx;
  const float* values;
  int64_t rows, cols, nnz, n;
  const float* b;
  const float* c;  // null when beta == 0 or absent
  float* out;
  float alpha, beta;
  unsigned long long* err;
  int64_t split;          // rows longer than this are left to the chunk pass
  const int64_t* chunks;  // null: row pass; else [count][3] = (row, begin, end): chunk pass
  int64_t count;          // row slots: rows, or chunks
  float* ws;              // chunk partial sums [count][n]
};

__device__ __forceinline__ void record_bad(unsigned long long* slot, int64_t pos) { atomicMin(slot, static_cast<unsigned long long>(pos)); }

template <class I>
__device__ __forceinline__ int64_t ld_index(const void* p, int64_t i) {
  return static_cast<int64_t>(__ldg(static_cast<const I*>(p) + i));
}

template <int VEC>
__device__ __forceinline__ void fma_row(float (&acc)[VEC], float v, const float* brow, int64_t col, int64_t n, bool full) {
  if constexpr (VEC == 4) {
    if (full) {
      const float4 x = __ldg(reinterpret_cast<const float4*>(brow + col));
      acc[0] = fmaf(v, x.x, acc[0]), acc[1] = fmaf(v, x.y, acc[1]), acc[2] = fmaf(v, x.z, acc[2]), acc[3] = fmaf(v, x.w, acc[3]);
      return;
    }
  }
#pragma unroll
  for (int e = 0; e < VEC; ++e)
    if (col + e < n) acc[e] = fmaf(v, __ldg(brow + col + e), acc[e]);
}

// out (or ws) for the row slots of this CTA. grid: (ceil(count / rows_per_cta), column tiles).
template <class I, int G, int VEC>
__global__ void __launch_bounds__(kCsrWarps * 32) spmm_csr(CsrArgs p) {
  static_assert(G == 4 || G == 8 || G == 16 || G == 32, "G lanes per row group");
  static_assert(VEC == 1 || VEC == 4, "VEC floats per lane");
  const int lane = threadIdx.x & 31;
  const RowCol at = csr_thread(threadIdx.x, G, VEC);
  const int64_t slot = int64_t(blockIdx.x) * csr_rows_per_cta(G) + at.row;
  if (slot >= p.count) return;  // the whole group leaves together (one slot per group)
  const unsigned mask = csr_group_mask(lane, G);
  const int64_t col = int64_t(blockIdx.y) * csr_tile_cols(G, VEC) + at.col;
  int64_t row, begin, end;
  if (p.chunks) {
    row = p.chunks[3 * slot], begin = p.chunks[3 * slot + 1], end = p.chunks[3 * slot + 2];
    if (!(row >= 0 && row < p.rows && 0 <= begin && begin <= end && end <= p.nnz)) {
      if ((lane % G) == 0) record_bad(p.err + 1, row >= 0 && row < p.rows ? row : 0);
      return;
    }
  } else {
    row = slot;
    begin = ld_index<I>(p.row_ptr, row), end = ld_index<I>(p.row_ptr, row + 1);
    if (!(0 <= begin && begin <= end && end <= p.nnz)) {
      if ((lane % G) == 0) record_bad(p.err + 1, row);
      return;
    }
    if (end - begin > p.split) return;  // the chunk pass takes it
  }
  const bool full = VEC == 4 && col + VEC <= p.n;
  float acc[VEC];
#pragma unroll
  for (int e = 0; e < VEC; ++e) acc[e] = 0.0f;
  const int gl = lane % G;
  for (int64_t base = begin; base < end; base += G) {
    // The group loads G entries at once (coalesced), then broadcasts them one by one.
    int64_t c = 0;
    float v = 0.0f;
    if (base + gl < end) {
      c = ld_index<I>(p.col_idx, base + gl);
      v = __ldg(p.values + base + gl);
      if (c < 0 || c >= p.cols) {
        record_bad(p.err, base + gl);
        c = 0, v = 0.0f;
      }
    }
    const int cnt = end - base < G ? int(end - base) : G;
    int j = 0;
    for (; j + 4 <= cnt; j += 4) {
      int64_t cj[4];
      float vj[4];
#pragma unroll
      for (int u = 0; u < 4; ++u) cj[u] = __shfl_sync(mask, c, j + u, G), vj[u] = __shfl_sync(mask, v, j + u, G);
#pragma unroll
      for (int u = 0; u < 4; ++u)
        if (col < p.n) fma_row<VEC>(acc, vj[u], p.b + cj[u] * p.n, col, p.n, full);
    }
    for (; j < cnt; ++j) {
      const int64_t cj = __shfl_sync(mask, c, j, G);
      const float vj = __shfl_sync(mask, v, j, G);
      if (col < p.n) fma_row<VEC>(acc, vj, p.b + cj * p.n, col, p.n, full);
    }
  }
  if (col >= p.n) return;
  if (p.chunks) {
    float* w = p.ws + slot * p.n;
#pragma unroll
    for (int e = 0; e < VEC; ++e)
      if (col + e < p.n) w[col + e] = acc[e];
    return;
  }
#pragma unroll
  for (int e = 0; e < VEC; ++e) {
    if (col + e >= p.n) break;
    const int64_t o = row * p.n + col + e;
    float y = p.alpha * acc[e];
    if (p.c) y = fmaf(p.beta, p.c[o], y);
    p.out[o] = y;
  }
}

// Adds each long row's chunk sums in chunk order (deterministic) and applies the epilogue.
// long_rows: [count][3] = (row, first chunk, chunks). grid-stride over (long row, column).
__global__ void spmm_csr_merge(CsrArgs p, const int64_t* long_rows, int64_t count) {
  const int64_t total = count * p.n;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t l = i / p.n, col = i % p.n;
    const int64_t row = long_rows[3 * l], first = long_rows[3 * l + 1], k = long_rows[3 * l + 2];
    if (row < 0 || row >= p.rows || first < 0 || k < 0 || first + k > p.count) continue;  // built by the host; never taken
    float s = 0.0f;
    for (int64_t q = 0; q < k; ++q) s += p.ws[(first + q) * p.n + col];
    const int64_t o = row * p.n + col;
    float y = p.alpha * s;
    if (p.c) y = fmaf(p.beta, p.c[o], y);
    p.out[o] = y;
  }
}

}  // namespace tk::cuspmm
