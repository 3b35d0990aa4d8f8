// SpMM row kernels, written once over the SIMD vector of core/simd.h and compiled per ISA by
// spmm_cpu_<isa>.cc (which defines TK_SIMD_ISA first). Everything has internal linkage.
#pragma once
#include <cstdint>

#include "../../core/simd.h"
#include "spmm_kernels.h"

namespace {

using tk::spmm_kernels::BadIndex;
using tk::spmm_kernels::Csr;
using tk::spmm_kernels::Dense;
using tk::spmm_kernels::Plan;

// Registers of accumulators per row tile: the output tile stays in registers for the whole row.
// AVX2 has 16 ymm (8 accumulators + broadcast + B operands), AVX-512 32 zmm, NEON 32 q.
#if TK_SIMD_ISA == 3
constexpr int kNV = 8;  // 128 floats
#elif TK_SIMD_ISA == 4
constexpr int kNV = 8;  // 32 floats
#else
constexpr int kNV = 8;  // 64 floats (AVX2), 32 (portable)
#endif
static_assert(kNV == 8, "tile_dispatch covers 1..7 vectors below the full tile");
// How many nonzeros ahead the B row is prefetched: enough to cover an L3/DRAM miss at ~4 cycles
// per nonzero of compute.
constexpr int kPrefetch = 12;

// A row's nonzero range, checked: returns false (and records the row) when row_ptr is inconsistent.
template <class Idx>
inline bool row_range(const Csr& a, int64_t r, int64_t* p0, int64_t* p1, BadIndex* bad) {
  const Idx* rp = static_cast<const Idx*>(a.row_ptr);
  const int64_t b = static_cast<int64_t>(rp[r]), e = static_cast<int64_t>(rp[r + 1]);
  if (b < 0 || b > e || e > a.nnz) {
    bad->record(r, -1);
    return false;
  }
  *p0 = b;
  *p1 = e;
  return true;
}

inline bool col_ok(int64_t c, int64_t cols) { return static_cast<uint64_t>(c) < static_cast<uint64_t>(cols); }

// out[r, n0 : n0 + NV*kW] = alpha * sum_p v[p] * B[col[p], n0 : ...] + beta * c[r, ...].
// U accumulator sets take consecutive nonzeros in turn, so that NV * U >= 8 independent FMA chains
// hide the FMA latency even for narrow tiles (two FMA pipes x 4 cycles).
template <class Idx, int NV, bool PF>
inline void row_tile(const Csr& a, const Dense& d, int64_t r, int64_t p0, int64_t p1, int64_t n0, BadIndex* bad) {
  constexpr int U = NV >= 8 ? 1 : 8 / NV;
  const Idx* ci = static_cast<const Idx*>(a.col_idx);
  const float* vals = a.values;
  // B addresses are formed only from a checked column (never d.b + n0 alone: with cols == 0, B has
  // no storage and d.b may be null, and an offset from null is undefined behaviour; fuzz_spmm found it).
  VF acc[U][NV];
  for (int u = 0; u < U; ++u)
    for (int v = 0; v < NV; ++v) acc[u][v] = vzero();
  auto step = [&](int u, int64_t p) {
    const int64_t col = static_cast<int64_t>(ci[p]);
    // Ahead across row ends: short rows (meshes: ~6 entries) would otherwise never prefetch.
    if (PF && p + kPrefetch < a.nnz) {
      const int64_t cf = static_cast<int64_t>(ci[p + kPrefetch]);
      if (col_ok(cf, a.cols)) {
        const float* q = d.b + (cf * d.ldb + n0);
        for (int l = 0; l < NV * kW; l += 16) prefetch(q + l);
      }
    }
    if (!col_ok(col, a.cols)) {
      bad->record(r, p);
      return;
    }
    const VF x = vset1(vals[p]);
    const float* brow = d.b + (col * d.ldb + n0);
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[u][v] = vfma(x, vload(brow + v * kW), acc[u][v]);
  };
  int64_t p = p0;
  for (; p + U <= p1; p += U)
#pragma GCC unroll 8
    for (int u = 0; u < U; ++u) step(u, p + u);
  for (; p < p1; ++p) step(0, p);
  for (int u = 1; u < U; ++u)
    for (int v = 0; v < NV; ++v) acc[0][v] = vadd(acc[0][v], acc[u][v]);
  float* o = d.out + r * d.ldo + n0;
  const VF al = vset1(d.alpha);
  if (d.beta != 0.0f) {
    const VF be = vset1(d.beta);
    const float* c = d.c + r * d.ldc + n0;
    for (int v = 0; v < NV; ++v) vstore(o + v * kW, vfma(al, acc[0][v], vmul(be, vload(c + v * kW))));
  } else {
    for (int v = 0; v < NV; ++v) vstore(o + v * kW, vmul(al, acc[0][v]));
  }
}

// Columns [n0, n1) with n1 - n0 < kW, one float at a time.
template <class Idx>
inline void row_tail(const Csr& a, const Dense& d, int64_t r, int64_t p0, int64_t p1, int64_t n0, int64_t n1, BadIndex* bad) {
  const Idx* ci = static_cast<const Idx*>(a.col_idx);
  float acc[16] = {};
  const int64_t w = n1 - n0;
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t col = static_cast<int64_t>(ci[p]);
    if (!col_ok(col, a.cols)) {
      bad->record(r, p);
      continue;
    }
    const float x = a.values[p];
    const float* brow = d.b + (col * d.ldb + n0);
    for (int64_t j = 0; j < w; ++j) acc[j] += x * brow[j];
  }
  float* o = d.out + r * d.ldo + n0;
  for (int64_t j = 0; j < w; ++j) o[j] = d.alpha * acc[j] + (d.beta != 0.0f ? d.beta * d.c[r * d.ldc + n0 + j] : 0.0f);
}

template <class Idx, bool PF>
inline void tile_dispatch(int nv, const Csr& a, const Dense& d, int64_t r, int64_t p0, int64_t p1, int64_t n0, BadIndex* bad) {
  switch (nv) {
    case 1: return row_tile<Idx, 1, PF>(a, d, r, p0, p1, n0, bad);
    case 2: return row_tile<Idx, 2, PF>(a, d, r, p0, p1, n0, bad);
    case 3: return row_tile<Idx, 3, PF>(a, d, r, p0, p1, n0, bad);
    case 4: return row_tile<Idx, 4, PF>(a, d, r, p0, p1, n0, bad);
    case 5: return row_tile<Idx, 5, PF>(a, d, r, p0, p1, n0, bad);
    case 6: return row_tile<Idx, 6, PF>(a, d, r, p0, p1, n0, bad);
    case 7: return row_tile<Idx, 7, PF>(a, d, r, p0, p1, n0, bad);
    default: return row_tile<Idx, kNV, PF>(a, d, r, p0, p1, n0, bad);
  }
}

// The tuned kernel: one row at a time, each tile of up to kNV vectors of the row's output in
// registers for the whole row, the row's tiles back to back (a B row's slices are adjacent); when B's
// tile is larger than L2 (plan.prefetch), the B rows are prefetched ahead of use, across row ends.
// The driver gives each thread a range of equal work (nonzeros), not of equal rows.
template <class Idx, bool PF>
void rows_tuned(const Csr& a, const Dense& d, int64_t r0, int64_t r1, BadIndex* bad) {
  constexpr int64_t NT = kNV * kW;
  const int64_t nfull = d.n / kW * kW;
  for (int64_t r = r0; r < r1; ++r) {
    int64_t p0, p1;
    if (!row_range<Idx>(a, r, &p0, &p1, bad)) return;
    for (int64_t n0 = 0; n0 < nfull; n0 += NT) {
      const int nv = static_cast<int>(n0 + NT <= nfull ? kNV : (nfull - n0) / kW);
      tile_dispatch<Idx, PF>(nv, a, d, r, p0, p1, n0, bad);
    }
    if (nfull < d.n) row_tail<Idx>(a, d, r, p0, p1, nfull, d.n, bad);
  }
}

void tuned_entry(const Csr& a, const Dense& d, const Plan& plan, int64_t r0, int64_t r1, BadIndex* bad) {
  if (plan.prefetch) {
    if (a.idx64)
      rows_tuned<int64_t, true>(a, d, r0, r1, bad);
    else
      rows_tuned<int32_t, true>(a, d, r0, r1, bad);
  } else {
    if (a.idx64)
      rows_tuned<int64_t, false>(a, d, r0, r1, bad);
    else
      rows_tuned<int32_t, false>(a, d, r0, r1, bad);
  }
}
// The bench's baseline, the loop a competent hand-written version would be: the same row loop
// without prefetching, over rows split evenly between threads (by the driver), not by work.
void plain_entry(const Csr& a, const Dense& d, const Plan&, int64_t r0, int64_t r1, BadIndex* bad) {
  if (a.idx64)
    rows_tuned<int64_t, false>(a, d, r0, r1, bad);
  else
    rows_tuned<int32_t, false>(a, d, r0, r1, bad);
}

void fill_kernels(tk::spmm_kernels::IsaKernels* k, const char* name) {
  k->rows = tuned_entry;
  k->plain_rows = plain_entry;
  k->name = name;
  k->tile_floats = kNV * kW;
}

}  // namespace
