// Index math and the CTA program of the CUDA linear_attention kernel (linear_attention_cuda.cu,
// linear_attention_kernel_simt.cuh), as functions that compile for the host too: the kernel runs
// cta_run with a barrier after each step, and the native self-test
// (native/tests/linear_attention_cuda_checks.h) runs the same cta_run on the CPU, every thread of
// every CTA in turn per step, against a float64 loop of the contract.
//
// One CTA = one (batch * head bh, slice of kSlice value columns c0 .. c0 + 31). Per block of bs tokens
// [t0, t0 + n), with KV the D x 32 state slice of the tokens before the block and pw[j] = lambda^j
// (j = 0 .. bs, computed once; only non-negative powers, so nothing overflows):
//   load:    Q, K [bs][D] and V [bs][32] into shared memory as float32 (rows >= n and columns >= Dv: 0)
//   P:       P[i][j] = pw[i - j] * (Q[i] . K[j]) for j <= i, else 0
//   out:     o[i][c] = scale * (sum_{j <= i} P[i][j] V[j][c] + pw[i + 1] * sum_d Q[i][d] KV[d][c])
//   update:  KV[d][c] = pw[n] KV[d][c] + sum_{j < n} pw[n - 1 - j] K[j][d] V[j][c]
// Non-causal (lambda = 1): first every block's update (KV = state_in + K^T V), then every block's
// o = scale * Q KV. The state slice is read from state_in at the start and written to state_out at the
// end by the same CTA, so state_in and state_out may be one buffer.
#pragma once
#include <cmath>
#include <cstdint>

#include "linear_attention.h"
#include "linear_attention_configs.h"

#if defined(__CUDACC__)
#define TK_LHD __host__ __device__ __forceinline__
#else
#define TK_LHD inline
#endif

namespace tk::culinattn {

constexpr int kThreads = linear_attention_configs::kCudaThreads;
constexpr int kSlice = linear_attention_configs::kCudaDvSlice;
constexpr int kWarps = kThreads / 32;
static_assert(kSlice == 32, "one value column per lane");
static_assert(kThreads % 32 == 0, "whole warps");

// The problem as the kernel sees it: sizes, element strides (batch, head, sequence; the head-dim
// stride is 1) of q / k, v and out, the block size, the mode.
struct Problem {
  int64_t H, S, D, Dv;
  int64_t qb, qh, qs, vb, vh, vs, ob, oh, os;
  int bs;
  bool causal;
  float scale;
};

// The kernel's problem from linear_attention_validate's shape (its strides) and the chosen block size.
inline Problem make_problem(const LinearAttentionShape& s, int bs, bool causal, float scale) {
  return Problem{s.H, s.S, s.D, s.Dv, s.qb, s.qh, s.qs, s.vb, s.vh, s.vs, s.ob, s.oh, s.os, bs, causal, scale};
}

// Strides of a [B, H, S, E] ('bhsd') or [B, S, H, E] ('bshd') tensor: {batch, head, sequence}.
struct Strides {
  int64_t b, h, s;
};
TK_LHD Strides layout_strides(bool bshd, int64_t H, int64_t S, int64_t E) {
  return bshd ? Strides{S * H * E, E, H * E} : Strides{H * S * E, S * E, E};
}

TK_LHD int64_t q_index(const Problem& p, int64_t bh, int64_t t, int64_t d) { return (bh / p.H) * p.qb + (bh % p.H) * p.qh + t * p.qs + d; }
TK_LHD int64_t v_index(const Problem& p, int64_t bh, int64_t t, int64_t c) { return (bh / p.H) * p.vb + (bh % p.H) * p.vh + t * p.vs + c; }
TK_LHD int64_t o_index(const Problem& p, int64_t bh, int64_t t, int64_t c) { return (bh / p.H) * p.ob + (bh % p.H) * p.oh + t * p.os + c; }
// state [B, H, D, Dv] float32
TK_LHD int64_t state_index(const Problem& p, int64_t bh, int64_t d, int64_t c) { return (bh * p.D + d) * p.Dv + c; }

// The grid: x = B * H, y = value-column slices.
TK_LHD int64_t slices(int64_t Dv) { return (Dv + kSlice - 1) / kSlice; }

// Shared memory, in floats: Q and K [bs][ld] (ld = D | 1: an odd row stride, so the 32 keys of a P
// row, read down a column, fall in 32 banks), V [bs][32], P [bs][bs + 1], KV [D][32], pw [bs + 1].
struct Smem {
  int ld, q, k, v, p, kv, pw, total;
};
TK_LHD Smem smem_layout(int bs, int64_t D) {
  Smem s;
  s.ld = int(D | 1);
  s.q = 0;
  s.k = s.q + bs * s.ld;
  s.v = s.k + bs * s.ld;
  s.p = s.v + bs * kSlice;
  s.kv = s.p + bs * (bs + 1);
  s.pw = s.kv + int(D) * kSlice;
  s.total = s.pw + bs + 1;
  return s;
}
TK_LHD int64_t smem_bytes(int bs, int64_t D) { return int64_t(smem_layout(bs, D).total) * 4; }

// The block size for head dim D with `limit` bytes of shared memory per block: the first of
// kCudaBlocks that fits, or 0 (the kernel does not take this D there).
inline int pick_block(int64_t D, int64_t limit) {
  if (D < 1 || D > (int64_t(1) << 20)) return 0;
  for (int bs : linear_attention_configs::kCudaBlocks)
    if (smem_bytes(bs, D) <= limit) return bs;
  return 0;
}

struct RowCol {
  int row, col;
};

// The slots of thread `tid` in round r of each step (the same mapping in every step's loop):
//   tile loads: element e = tid + r * kThreads of a [bs][width] tile, consecutive threads on
//     consecutive columns (coalesced global reads along the head dim)
//   P:   entry e of [bs][bs]: a warp covers 32 / bs rows (bs = 32: one row, j = lane)
//   out: row warp + kWarps * r, column lane
//   state: row d = warp + kWarps * r, column lane
TK_LHD RowCol tile_slot(int tid, int r, int width) {
  const int e = tid + r * kThreads;
  return {e / width, e % width};
}
TK_LHD int tile_rounds(int bs, int64_t width) { return int((bs * width + kThreads - 1) / kThreads); }
TK_LHD RowCol row_slot(int tid, int r) { return {tid / 32 + kWarps * r, tid % 32}; }
TK_LHD int row_rounds(int64_t rows) { return int((rows + kWarps - 1) / kWarps); }

// Global reads and writes of a CTA, supplied by the caller (the kernel: device pointers with dtype
// conversion; the self-test: host arrays):
//   src.q_at(i), src.k_at(i), src.v_at(i) -> float (element index), src.state_at(i) -> float when src.has_state
//   dst.out_at(i, x), dst.state_at(i, x) when dst.has_state
// `each(f)`: runs f(tid) for every thread of the CTA, then a barrier.
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <class Each, class Src, class Dst>
TK_LHD void cta_run(Each& each, const Problem& p, int64_t bh, int c0, float lambda, const Src& src, const Dst& dst, float* sm) {
  const Smem L = smem_layout(p.bs, p.D);
  float *Q = sm + L.q, *K = sm + L.k, *V = sm + L.v, *P = sm + L.p, *KV = sm + L.kv, *pw = sm + L.pw;
  const int bs = p.bs, D = int(p.D), ld = L.ld;
  const int cols = p.Dv - c0 < kSlice ? int(p.Dv - c0) : kSlice;  // live value columns of this slice
  // The state slice (0 without state_in) and the decay powers.
  each([&](int tid) {
    for (int r = 0; r < row_rounds(D); ++r) {
      const RowCol s = row_slot(tid, r);
      if (s.row < D)
        KV[s.row * kSlice + s.col] = src.has_state && s.col < cols ? src.state_at(state_index(p, bh, s.row, c0 + s.col)) : 0.0f;
    }
    if (tid == 0) {
      double x = 1.0;
      for (int j = 0; j <= bs; ++j, x *= double(lambda)) pw[j] = float(x);
    }
  });
  // Tiles of tokens [t0, t0 + n): Q and / or K, V.
  auto load = [&](int64_t t0, int n, bool q, bool kv) {
    each([&](int tid) {
      for (int r = 0; r < tile_rounds(bs, D); ++r) {
        const RowCol e = tile_slot(tid, r, D);
        if (e.row >= bs) continue;
        if (q) Q[e.row * ld + e.col] = e.row < n ? src.q_at(q_index(p, bh, t0 + e.row, e.col)) : 0.0f;
        if (kv) K[e.row * ld + e.col] = e.row < n ? src.k_at(q_index(p, bh, t0 + e.row, e.col)) : 0.0f;
      }
      if (kv)
        for (int r = 0; r < tile_rounds(bs, kSlice); ++r) {
          const RowCol e = tile_slot(tid, r, kSlice);
          if (e.row < bs) V[e.row * kSlice + e.col] = e.row < n && e.col < cols ? src.v_at(v_index(p, bh, t0 + e.row, c0 + e.col)) : 0.0f;
        }
    });
  };
  // KV = pw[n] KV + sum_{j < n} pw[n - 1 - j] K[j]^T V[j]
  auto update = [&](int n) {
    each([&](int tid) {
      for (int r = 0; r < row_rounds(D); ++r) {
        const RowCol s = row_slot(tid, r);
        if (s.row >= D) continue;
        float acc = 0.0f;
        for (int j = 0; j < n; ++j) acc = fmaf(pw[n - 1 - j] * K[j * ld + s.row], V[j * kSlice + s.col], acc);
        KV[s.row * kSlice + s.col] = fmaf(pw[n], KV[s.row * kSlice + s.col], acc);
      }
    });
  };
  // o[i] = scale * (sum_{j <= i} P[i][j] V[j] (causal) + pw[i + 1] Q[i] KV), stored for rows < n
  auto output = [&](int64_t t0, int n, bool intra) {
    each([&](int tid) {
      for (int r = 0; r < row_rounds(bs); ++r) {
        const RowCol o = row_slot(tid, r);
        if (o.row >= n) continue;
        float inter = 0.0f, acc = 0.0f;
        for (int d = 0; d < D; ++d) inter = fmaf(Q[o.row * ld + d], KV[d * kSlice + o.col], inter);
        if (intra) {
          for (int j = 0; j <= o.row; ++j) acc = fmaf(P[o.row * (bs + 1) + j], V[j * kSlice + o.col], acc);
          acc = fmaf(pw[o.row + 1], inter, acc);
        } else {
          acc = inter;
        }
        if (o.col < cols) dst.out_at(o_index(p, bh, t0 + o.row, c0 + o.col), p.scale * acc);
      }
    });
  };
  if (p.causal) {
    for (int64_t t0 = 0; t0 < p.S; t0 += bs) {
      const int n = p.S - t0 < bs ? int(p.S - t0) : bs;
      load(t0, n, true, true);
      each([&](int tid) {  // P = (Q K^T) .* M, M[i][j] = pw[i - j] below the diagonal
        for (int r = 0; r < tile_rounds(bs, bs); ++r) {
          const RowCol e = tile_slot(tid, r, bs);
          if (e.row >= bs) continue;
          float dot = 0.0f;
          if (e.col <= e.row)
            for (int d = 0; d < D; ++d) dot = fmaf(Q[e.row * ld + d], K[e.col * ld + d], dot);
          P[e.row * (bs + 1) + e.col] = e.col <= e.row ? pw[e.row - e.col] * dot : 0.0f;
        }
      });
      output(t0, n, true);
      if (t0 + n < p.S || dst.has_state) update(n);
    }
  } else {
    for (int64_t t0 = 0; t0 < p.S; t0 += bs) {
      const int n = p.S - t0 < bs ? int(p.S - t0) : bs;
      load(t0, n, false, true);
      update(n);
    }
    for (int64_t t0 = 0; t0 < p.S; t0 += bs) {
      const int n = p.S - t0 < bs ? int(p.S - t0) : bs;
      load(t0, n, true, false);
      output(t0, n, false);
    }
  }
  if (dst.has_state)
    each([&](int tid) {
      for (int r = 0; r < row_rounds(D); ++r) {
        const RowCol s = row_slot(tid, r);
        if (s.row < D && s.col < cols) dst.state_at(state_index(p, bh, s.row, c0 + s.col), KV[s.row * kSlice + s.col]);
      }
    });
}

// ---- The sm80 tier (linear_attention_kernel_sm80.cuh): tensor cores for the intra-block products ----
// mma.sync m16n8k16 .f16 / .bf16 fragments (PTX ISA, "Matrix Fragments for mma.m16n8k16"), g = lane / 4,
// c = lane % 4; h = 0, 1 the two 16-bit halves of a register (h = 0 the low half):
//   A (16 x 16, row-major), register r of 4: row g + 8 (r & 1), column 2c + 8 (r >> 1) + h
//   B (16 x 8, k x n),       register r of 2: k 2c + 8 r + h, n g           (returned as {row k, col n})
//   C (16 x 8 float32),      register r of 4: row g + 8 (r >> 1), column 2c + (r & 1)
TK_LHD RowCol mma_a_slot(int lane, int r, int h) { return {lane / 4 + 8 * (r & 1), 2 * (lane % 4) + 8 * (r >> 1) + h}; }
TK_LHD RowCol mma_b_slot(int lane, int r, int h) { return {2 * (lane % 4) + 8 * r + h, lane / 4}; }
TK_LHD RowCol mma_c_slot(int lane, int r) { return {lane / 4 + 8 * (r >> 1), 2 * (lane % 4) + (r & 1)}; }

// The head dim padded to the mma's k of 16 (zero columns).
TK_LHD int tc_dpad(int64_t D) { return int((D + 15) / 16 * 16); }

// Shared memory of the tier, offsets in 16-bit units from the base (all even: every region 4-byte
// aligned), total in bytes: float32 KV [D][32] (the state slice), O [bs][33] (the intra-block P V),
// pw [bs + 1]; 16-bit Q, K [bs][ldh], V transposed Vt [32][ldv] (B of P V reads pairs along the tokens),
// P [bs][ldp]. ldh = Dp + 8, ldv = ldp = bs + 8: a row stride of 4 (mod 32) words, so the 8 rows x 4
// words of a fragment load fall in 32 banks.
struct SmemTc {
  int ldh, ldv, ldp, ldo, kv, o, pw, q, k, v, p, total;
};
TK_LHD SmemTc smem_layout_tc(int bs, int64_t D) {
  SmemTc s;
  s.ldh = tc_dpad(D) + 8;
  s.ldv = bs + 8;
  s.ldp = bs + 8;
  s.ldo = kSlice + 1;
  s.kv = 0;
  s.o = s.kv + 2 * int(D) * kSlice;
  s.pw = s.o + 2 * bs * s.ldo;
  s.q = s.pw + 2 * (bs + 1);
  s.k = s.q + bs * s.ldh;
  s.v = s.k + bs * s.ldh;
  s.p = s.v + kSlice * s.ldv;
  s.total = 2 * (s.p + bs * s.ldp);
  return s;
}
TK_LHD int64_t smem_bytes_tc(int bs, int64_t D) { return smem_layout_tc(bs, D).total; }
inline int pick_block_tc(int64_t D, int64_t limit) {
  if (D < 1 || D > (int64_t(1) << 20)) return 0;
  for (int bs : linear_attention_configs::kCudaTcBlocks)
    if (smem_bytes_tc(bs, D) <= limit) return bs;
  return 0;
}
// The 16 x 8 tiles of S = Q K^T [bs][bs] and of O_intra = P V [bs][32], row-major over tiles; a warp
// takes tiles warp, warp + kWarps, ...
TK_LHD int qk_tiles(int bs) { return (bs / 16) * (bs / 8); }
TK_LHD int pv_tiles(int bs) { return (bs / 16) * (kSlice / 8); }

// Two 16-bit values at p (4-byte aligned), the lower address in the low half, as one register.
TK_LHD uint32_t ld_pair(const uint16_t* p) {
#if defined(__CUDA_ARCH__)
  return *reinterpret_cast<const uint32_t*>(p);
#else
  return uint32_t(p[0]) | (uint32_t(p[1]) << 16);
#endif
}

// The tier's CTA program: cta_run's, with S and O_intra on tensor cores. `ops` supplies
//   ops.each(f): f(tid) for every thread, then a barrier;  ops.warps(f): f(warp) for every warp, then a barrier
//   ops.mma_tile(ksteps, la, lb, sc): a warp's 16 x 8 float32 tile of ksteps mma.sync: la(lane, ks, r) /
//     lb(lane, ks, r) give the A / B registers, sc(lane, r, x) takes the C registers at the end
//   ops.to16(float) -> uint16_t (round to nearest even), ops.from16(uint16_t) -> float
// (the kernel: threads, __syncthreads, mma.sync; the self-test: loops, and the mma emulated in float32).
#if defined(__CUDACC__)
#pragma nv_exec_check_disable
#endif
template <class Ops, class Src, class Dst>
TK_LHD void cta_run_tc(const Ops& ops, const Problem& p, int64_t bh, int c0, float lambda, const Src& src, const Dst& dst, void* smv) {
  const SmemTc L = smem_layout_tc(p.bs, p.D);
  uint16_t* sh = static_cast<uint16_t*>(smv);
  float *KV = reinterpret_cast<float*>(sh + L.kv), *O = reinterpret_cast<float*>(sh + L.o), *pw = reinterpret_cast<float*>(sh + L.pw);
  uint16_t *Q = sh + L.q, *K = sh + L.k, *Vt = sh + L.v, *P = sh + L.p;
  const int bs = p.bs, D = int(p.D), Dp = tc_dpad(D), ldh = L.ldh, ldv = L.ldv, ldp = L.ldp, ldo = L.ldo;
  const int cols = p.Dv - c0 < kSlice ? int(p.Dv - c0) : kSlice;
  const float scale = p.scale;
  ops.each([&](int tid) {
    for (int r = 0; r < row_rounds(D); ++r) {
      const RowCol s = row_slot(tid, r);
      if (s.row < D)
        KV[s.row * kSlice + s.col] = src.has_state && s.col < cols ? src.state_at(state_index(p, bh, s.row, c0 + s.col)) : 0.0f;
    }
    if (tid == 0) {
      double x = 1.0;
      for (int j = 0; j <= bs; ++j, x *= double(lambda)) pw[j] = float(x);
    }
  });
  auto load = [&](int64_t t0, int n, bool q, bool kv) {
    ops.each([&](int tid) {
      for (int r = 0; r < tile_rounds(bs, Dp); ++r) {
        const RowCol e = tile_slot(tid, r, Dp);
        if (e.row >= bs) continue;
        const bool in = e.row < n && e.col < D;
        if (q) Q[e.row * ldh + e.col] = ops.to16(in ? src.q_at(q_index(p, bh, t0 + e.row, e.col)) : 0.0f);
        if (kv) K[e.row * ldh + e.col] = ops.to16(in ? src.k_at(q_index(p, bh, t0 + e.row, e.col)) : 0.0f);
      }
      if (kv)
        for (int r = 0; r < tile_rounds(bs, kSlice); ++r) {
          const RowCol e = tile_slot(tid, r, kSlice);
          if (e.row < bs)
            Vt[e.col * ldv + e.row] = ops.to16(e.row < n && e.col < cols ? src.v_at(v_index(p, bh, t0 + e.row, c0 + e.col)) : 0.0f);
        }
    });
  };
  auto update = [&](int n) {
    ops.each([&](int tid) {
      for (int r = 0; r < row_rounds(D); ++r) {
        const RowCol s = row_slot(tid, r);
        if (s.row >= D) continue;
        float acc = 0.0f;
        for (int j = 0; j < n; ++j) acc = fmaf(pw[n - 1 - j] * ops.from16(K[j * ldh + s.row]), ops.from16(Vt[s.col * ldv + j]), acc);
        KV[s.row * kSlice + s.col] = fmaf(pw[n], KV[s.row * kSlice + s.col], acc);
      }
    });
  };
  // o[i] = O_intra[i] (scale folded into P) + scale pw[i + 1] Q[i] KV, or scale Q[i] KV (non-causal)
  auto output = [&](int64_t t0, int n, bool intra) {
    ops.each([&](int tid) {
      for (int r = 0; r < row_rounds(bs); ++r) {
        const RowCol o = row_slot(tid, r);
        if (o.row >= n) continue;
        float inter = 0.0f;
        for (int d = 0; d < D; ++d) inter = fmaf(ops.from16(Q[o.row * ldh + d]), KV[d * kSlice + o.col], inter);
        const float x = intra ? fmaf(scale * pw[o.row + 1], inter, O[o.row * ldo + o.col]) : scale * inter;
        if (o.col < cols) dst.out_at(o_index(p, bh, t0 + o.row, c0 + o.col), x);
      }
    });
  };
  if (p.causal) {
    for (int64_t t0 = 0; t0 < p.S; t0 += bs) {
      const int n = p.S - t0 < bs ? int(p.S - t0) : bs;
      load(t0, n, true, true);
      // P = to16(scale * pw[i - j] * (Q K^T)[i][j]) for j <= i, else 0; tiles above the diagonal skip the mma.
      ops.warps([&](int warp) {
        for (int t = warp; t < qk_tiles(bs); t += kWarps) {
          const int m0 = t / (bs / 8) * 16, n0 = t % (bs / 8) * 8;
          ops.mma_tile(
              n0 > m0 + 15 ? 0 : Dp / 16,
              [&](int lane, int ks, int r) {
                const RowCol a = mma_a_slot(lane, r, 0);
                return ld_pair(Q + (m0 + a.row) * ldh + ks * 16 + a.col);
              },
              [&](int lane, int ks, int r) {
                const RowCol b = mma_b_slot(lane, r, 0);
                return ld_pair(K + (n0 + b.col) * ldh + ks * 16 + b.row);
              },
              [&](int lane, int r, float x) {
                const RowCol c = mma_c_slot(lane, r);
                const int i = m0 + c.row, j = n0 + c.col;
                P[i * ldp + j] = ops.to16(j <= i ? scale * pw[i - j] * x : 0.0f);
              });
        }
      });
      // O_intra = P V; P's k-tiles past the row tile are 0.
      ops.warps([&](int warp) {
        for (int t = warp; t < pv_tiles(bs); t += kWarps) {
          const int m0 = t / (kSlice / 8) * 16, n0 = t % (kSlice / 8) * 8;
          ops.mma_tile(
              m0 / 16 + 1,
              [&](int lane, int ks, int r) {
                const RowCol a = mma_a_slot(lane, r, 0);
                return ld_pair(P + (m0 + a.row) * ldp + ks * 16 + a.col);
              },
              [&](int lane, int ks, int r) {
                const RowCol b = mma_b_slot(lane, r, 0);
                return ld_pair(Vt + (n0 + b.col) * ldv + ks * 16 + b.row);
              },
              [&](int lane, int r, float x) {
                const RowCol c = mma_c_slot(lane, r);
                O[(m0 + c.row) * ldo + n0 + c.col] = x;
              });
        }
      });
      output(t0, n, true);
      if (t0 + n < p.S || dst.has_state) update(n);
    }
  } else {
    for (int64_t t0 = 0; t0 < p.S; t0 += bs) {
      const int n = p.S - t0 < bs ? int(p.S - t0) : bs;
      load(t0, n, false, true);
      update(n);
    }
    for (int64_t t0 = 0; t0 < p.S; t0 += bs) {
      const int n = p.S - t0 < bs ? int(p.S - t0) : bs;
      load(t0, n, true, false);
      output(t0, n, false);
    }
  }
  if (dst.has_state)
    ops.each([&](int tid) {
      for (int r = 0; r < row_rounds(D); ++r) {
        const RowCol s = row_slot(tid, r);
        if (s.row < D && s.col < cols) dst.state_at(state_index(p, bh, s.row, c0 + s.col), KV[s.row * kSlice + s.col]);
      }
    });
}

}  // namespace tk::culinattn
