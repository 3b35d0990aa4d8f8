// CUDA attention kernels.
//
// attn_fwd_sm80<Cfg, T> (compute capability >= 8.0): FlashAttention-2's structure on mma.sync.
//   Grid (B * Hkv * row tiles, KV splits); one CTA = 4 warps x 16 rows of the packed (query, head of
//   the GQA group) rows of one (batch, kv head) -- see attention_cuda_layout.h. The Q tile is copied
//   once into shared memory; K / V tiles stream through two stages with cp.async (the next tile's
//   copy overlaps this tile's math). Per key tile each warp computes S = Q K^T (m16n8k16, fp32
//   accumulate), scales it (softcap, mask, length / causal visibility only on the tiles that need
//   it), updates the running max / sum in registers (online softmax, base-2 exponentials), rescales
//   its O accumulator, converts P to T in registers (the S fragments are the A fragments of P V) and
//   accumulates O += P V with V read by ldmatrix.trans. Key tiles past the last visible key of the
//   row tile are never loaded (causal block skipping, kvLengths).
//   T = __half or __nv_bfloat16 is the tensor-core input type. q / k / v of dtype T, 16-byte aligned
//   with a head dim that is a multiple of 8, are copied with cp.async; any other input (float32 --
//   converted on load to T, which is float16 for float32 inputs: see attention_cuda.cu --, odd head
//   dims, misaligned views) goes through a converting element-wise load into the same tiles.
//   With splits > 1 (flash-decoding: few row tiles, long keys) each split covers a contiguous run
//   of key tiles and writes its normalized partial output and log-sum-exp to a workspace; the merge
//   kernel combines the splits in split order (deterministic).
//
// attn_simt<Tin> (every device; the exact fp32 path): one warp per query row, scores of 32 keys at
//   a time (a key per lane), fp32 FMA and expf; q row and output accumulator in shared memory.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "../../core/dtype.h"
#include "../../cuda/sm80.cuh"
#include "../gemm/gemm_cuda_layout.h"
#include "attention_cuda_layout.h"

namespace tk::cuattn {

struct Args {
  const void *q, *k, *v;
  int in_dtype;      // tk::DType of q / k / v
  const void* mask;  // null when absent
  int mask_dtype;
  bool mask_bool;
  int64_t mb, mh, mi, mj;
  const int32_t* kv_lengths;  // device, null when absent (clamped to [0, Sk] here)
  void* out;
  int out_dtype;
  float* lse;                                              // null when not wanted
  int64_t B, Hq, Hkv, Sq, Sk, D, Dv, group;                // the tensor-core kernels take Dv == D only
  int64_t qb, qh, qs, kb, kh, ks, vb, vh, vs, ob, oh, os;  // element strides
  int64_t mask_keys;                                       // keys past the mask's last dim are hidden (Sk without a mask)
  bool causal;
  bool has_causal_offset;  // else kv length - Sq (bottom-right)
  int64_t causal_offset;
  float scale, softcap;
  bool vec;  // inputs of dtype T, 16-byte aligned rows, D % 8 == 0: cp.async
  int splits;
  int64_t row_tiles;  // ceil(Sq * group / BM): blockIdx.x -> (bh, row tile) by cta_tile
  float* ws_o;        // [splits][B * Hq * Sq][D] normalized partials (splits > 1)
  float* ws_lse;      // [splits][B * Hq * Sq]
};

__device__ __forceinline__ float ld_float(const void* p, int dtype, int64_t i) {
  switch (dtype) {
    case int(DType::kFloat16): return __half2float(static_cast<const __half*>(p)[i]);
    case int(DType::kBFloat16): return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case int(DType::kInt8):
    case int(DType::kBool): return float(static_cast<const int8_t*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}
__device__ __forceinline__ void st_float(void* p, int dtype, int64_t i, float v) {
  switch (dtype) {
    case int(DType::kFloat16): static_cast<__half*>(p)[i] = __float2half_rn(v); break;
    case int(DType::kBFloat16): static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v); break;
    default: static_cast<float*>(p)[i] = v; break;
  }
}
__device__ __forceinline__ int64_t kv_len(const Args& a, int64_t b) {
  if (!a.kv_lengths) return a.Sk;
  const int64_t L = a.kv_lengths[b];
  return L < 0 ? 0 : L > a.Sk ? a.Sk : L;
}
// Batch b's causal offset (query i sees keys j <= i + off) for its kv length L, and the keys that may
// be visible at all (L clipped by a mask shorter than Sk).
__device__ __forceinline__ int64_t causal_off(const Args& a, int64_t L) { return a.has_causal_offset ? a.causal_offset : L - a.Sq; }
__device__ __forceinline__ int64_t visible_len(const Args& a, int64_t L) { return L < a.mask_keys ? L : a.mask_keys; }
// The score after scale and softcap, with the mask (bool: -inf where 0; float: added).
__device__ __forceinline__ float apply_mask(const Args& a, float s, int64_t b, int64_t h, int64_t i, int64_t j) {
  const float m = ld_float(a.mask, a.mask_dtype, b * a.mb + h * a.mh + i * a.mi + j * a.mj);
  if (a.mask_bool) return m != 0.0f ? s : -INFINITY;
  return s + m;
}

// Where one finished query row goes: the split's normalized partial in the workspace (splits > 1;
// merged by attn_merge) or the output row and its LSE. Shared by the sm80, sm90 and decode kernels.
struct RowOut {
  float inv;      // 1 / l (0 for a row that saw no key)
  float lse;      // natural-log LSE (-inf for a row that saw no key)
  float* part;    // the partial's row (splits > 1), else null
  int64_t out;    // the output row's element offset (splits == 1)
  float* lse_at;  // where the LSE goes (null: not asked for)
  __device__ __forceinline__ void put(const Args& a, int64_t col, float acc) const {
    if (col >= a.D) return;
    if (part)
      part[col] = acc * inv;
    else
      st_float(a.out, a.out_dtype, out + col, acc * inv);
  }
  __device__ __forceinline__ void put_lse() const {
    if (lse_at) *lse_at = lse;
  }
};
// l: the row's sum of exp2(s - m); m: its running max in log2 units.
__device__ __forceinline__ RowOut row_out(const Args& a, float l, float m, int64_t b, RowMap q, int split) {
  const bool any = l > 0.0f;
  RowOut r;
  r.inv = any ? 1.0f / l : 0.0f;
  r.lse = any ? (m + log2f(l)) * 0.6931471805599453f : -INFINITY;
  const int64_t lrow = (b * a.Hq + q.h) * a.Sq + q.i;  // row of lse [B, Hq, Sq]
  const int64_t part_row = int64_t(split) * a.B * a.Hq * a.Sq + lrow;
  r.part = a.splits > 1 ? a.ws_o + part_row * a.D : nullptr;
  r.out = b * a.ob + q.h * a.oh + q.i * a.os;
  r.lse_at = a.splits > 1 ? a.ws_lse + part_row : a.lse ? a.lse + lrow : nullptr;
  return r;
}
// What one CTA of the row-tiled kernels (sm80, sm90) works on: its (batch, kv head), packed rows
// [r0, r0 + BM), its batch's KV length, the key range its rows can see and the key tiles
// [t_begin, t_end) of its KV split (blockIdx.y).
struct CtaWork {
  int64_t b, hkv, rows_total, r0, L, off, key_end, t_begin, t_end;  // L: visible_len, off: causal_off
  int split;
};
__device__ __forceinline__ CtaWork cta_work(const Args& a, int BM, int BN) {
  CtaWork w;
  const CtaTile ct = cta_tile(blockIdx.x, a.row_tiles, a.B * a.Hkv, a.causal);
  w.b = ct.bh / a.Hkv;
  w.hkv = ct.bh % a.Hkv;
  w.rows_total = a.Sq * a.group;
  w.r0 = ct.tile * BM;
  w.split = blockIdx.y;
  const int64_t kvl = kv_len(a, w.b);
  w.L = visible_len(a, kvl);
  w.off = causal_off(a, kvl);
  w.key_end = tile_key_end(w.r0, w.r0 + BM < w.rows_total ? w.r0 + BM : w.rows_total, a.group, a.Sq, w.off, w.L, a.causal);
  const int64_t n_tiles = (w.key_end + BN - 1) / BN;
  const int64_t tps = split_tiles_per(n_tiles, a.splits);
  w.t_begin = w.split * tps < n_tiles ? w.split * tps : n_tiles;
  w.t_end = w.t_begin + tps < n_tiles ? w.t_begin + tps : n_tiles;
  return w;
}
// Sum over the four lanes of a quad (the lanes that share a row of an mma accumulator).
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

template <class T>
__device__ __forceinline__ uint32_t pack2(float x, float y);
template <>
__device__ __forceinline__ uint32_t pack2<__half>(float x, float y) {
  __half2 h = __floats2half2_rn(x, y);
  return *reinterpret_cast<uint32_t*>(&h);
}
template <>
__device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float x, float y) {
  __nv_bfloat162 h = __floats2bfloat162_rn(x, y);
  return *reinterpret_cast<uint32_t*>(&h);
}

// One tile of `rows` rows x HD columns into swizzled smem. Row r's source is src_row(r) (null: zero
// row). vec: 16-byte cp.async (zero-fill outside); otherwise element loads converted to T.
template <class T, int HD, int THREADS, class RowPtr>
__device__ __forceinline__ void load_tile(const Args& a, uint8_t* dst, int rows, RowPtr src_row, int tid) {
  constexpr int RB = HD * 2, CHUNKS_PER_ROW = RB / 16;
  const int total = rows * CHUNKS_PER_ROW;
  for (int q = tid; q < total; q += THREADS) {
    const cugemm::RowCol rc = cugemm::copy_chunk(q, RB);
    const int64_t col = rc.col / 2;       // first element of the chunk
    const int64_t src = src_row(rc.row);  // element offset of the row, -1 outside
    uint8_t* d = dst + tile_offset(rc.row, rc.col, RB);
    if (a.vec) {
      const bool in = src >= 0 && col < a.D;  // D % 8 == 0: a chunk is all in or all out
      sm80::cp_async16(sm80::smem_u32(d), in ? static_cast<const void*>(src_row.base() + (src + col) * 2) : src_row.base(), in);
    } else {
      float f[8];
#pragma unroll
      for (int e = 0; e < 8; ++e) f[e] = (src >= 0 && col + e < a.D) ? ld_float(src_row.base(), a.in_dtype, src + col + e) : 0.0f;
      uint4 u;
      u.x = pack2<T>(f[0], f[1]), u.y = pack2<T>(f[2], f[3]), u.z = pack2<T>(f[4], f[5]), u.w = pack2<T>(f[6], f[7]);
      *reinterpret_cast<uint4*>(d) = u;
    }
  }
}

// Row sources: element offset of a tile row in its tensor (-1 outside) and the tensor's base.
struct QRows {
  const uint8_t* p;
  int64_t off0, qh, qs, group, hkv, r0, rows_total;
  __device__ __forceinline__ const uint8_t* base() const { return p; }
  __device__ __forceinline__ int64_t operator()(int row) const {
    const int64_t r = r0 + row;
    if (r >= rows_total) return -1;
    const RowMap m = row_to_query(r, hkv, group);
    return off0 + m.h * qh + m.i * qs;
  }
};
struct KvRows {
  const uint8_t* p;
  int64_t off0, ks, j0, end;
  __device__ __forceinline__ const uint8_t* base() const { return p; }
  __device__ __forceinline__ int64_t operator()(int row) const { return j0 + row < end ? off0 + (j0 + row) * ks : -1; }
};

template <class Cfg, class T>
__global__ void __launch_bounds__(Cfg::kThreads) attn_fwd_sm80(Args a) {
#if __CUDA_ARCH__ >= 800
  using namespace sm80;
  constexpr int HD = Cfg::kHD, BM = Cfg::kBM, BN = Cfg::kBN, THREADS = Cfg::kThreads, RB = HD * 2;
  constexpr int NB = BN / 8;   // 8-key n-blocks of S
  constexpr int DB = HD / 8;   // 8-column n-blocks of O
  constexpr int KS = HD / 16;  // k steps of S = Q K^T
  constexpr int PS = BN / 16;  // k steps of O = P V
  constexpr float kLog2e = 1.4426950408889634f;
  static_assert(BM == 16 * (THREADS / 32), "one 16-row mma block per warp");
  extern __shared__ __align__(128) uint8_t smem[];
  uint8_t* sQ = smem;
  uint8_t* sK = smem + BM * RB;    // [2][BN * RB]
  uint8_t* sV = sK + 2 * BN * RB;  // [2][BN * RB]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const CtaWork cw = cta_work(a, BM, BN);
  const int64_t b = cw.b, hkv = cw.hkv, rows_total = cw.rows_total, r0 = cw.r0, L = cw.L, off = cw.off;
  const int64_t t_begin = cw.t_begin, t_end = cw.t_end;
  const int split = cw.split;

  const QRows qrows{static_cast<const uint8_t*>(a.q), b * a.qb, a.qh, a.qs, a.group, hkv, r0, rows_total};
  auto kv_rows = [&](const void* base, int64_t t) {
    return KvRows{static_cast<const uint8_t*>(base), b * a.kb + hkv * a.kh, a.ks, t * BN, cw.key_end};
  };

  load_tile<T, HD, THREADS>(a, sQ, BM, qrows, tid);
  if (t_begin < t_end) {
    load_tile<T, HD, THREADS>(a, sK, BN, kv_rows(a.k, t_begin), tid);
    load_tile<T, HD, THREADS>(a, sV, BN, kv_rows(a.v, t_begin), tid);
  }
  cp_async_commit();

  float o[DB][4];
#pragma unroll
  for (int i = 0; i < DB; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[i][e] = 0.0f;
  float m_run[2] = {-INFINITY, -INFINITY};  // rows g and g + 8 of the warp, in log2 units
  float l_run[2] = {0.0f, 0.0f};            // this thread's partial sums (reduced over the quad at the end)
  const int g = lane >> 2;
  const int64_t row_lo = r0 + warp * 16 + g;  // packed rows of elements 0,1 and 2,3
  const int64_t row_hi = row_lo + 8;
  const RowMap q_lo = row_to_query(row_lo, hkv, a.group), q_hi = row_to_query(row_hi, hkv, a.group);

  // Q's A fragments in registers for the whole loop, or re-read from shared memory (ldmatrix) per key
  // tile: TileConfig::q_regs (attention_configs.h) has the register counts behind the choice.
  constexpr bool kQRegs = Cfg::kQRegs;
  uint32_t qf[kQRegs ? KS : 1][4];
  for (int64_t t = t_begin; t < t_end; ++t) {
    const int st = int((t - t_begin) & 1);
    if (t + 1 < t_end) {  // prefetch the next tile into the other stage (free since the last iteration's sync)
      load_tile<T, HD, THREADS>(a, sK + (st ^ 1) * BN * RB, BN, kv_rows(a.k, t + 1), tid);
      load_tile<T, HD, THREADS>(a, sV + (st ^ 1) * BN * RB, BN, kv_rows(a.v, t + 1), tid);
    }
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();
    const uint8_t* k_t = sK + st * BN * RB;
    const uint8_t* v_t = sV + st * BN * RB;

    // S = Q K^T
    float s[NB][4];
#pragma unroll
    for (int n = 0; n < NB; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[n][e] = 0.0f;
    if (kQRegs && t == t_begin) {  // Q landed with the first stage: its fragments into registers once
#pragma unroll
      for (int kk = 0; kk < KS; ++kk) {
        const cugemm::RowCol la = cugemm::ldsm_a_kmajor(lane);
        ldsm_x4(smem_u32(sQ + tile_offset(warp * 16 + la.row, kk * 32 + la.col, RB)), qf[kQRegs ? kk : 0]);
      }
    }
#pragma unroll
    for (int kk = 0; kk < KS; ++kk) {
      uint32_t af_s[4];
      if (!kQRegs) {
        const cugemm::RowCol la = cugemm::ldsm_a_kmajor(lane);
        ldsm_x4(smem_u32(sQ + tile_offset(warp * 16 + la.row, kk * 32 + la.col, RB)), af_s);
      }
      const uint32_t(&af)[4] = kQRegs ? qf[kQRegs ? kk : 0] : af_s;
#pragma unroll
      for (int n = 0; n < NB; n += 2) {
        const cugemm::RowCol lb = cugemm::ldsm_b_kmajor(lane);
        uint32_t r[4];
        ldsm_x4(smem_u32(k_t + tile_offset(n * 8 + lb.row, kk * 32 + lb.col, RB)), r);
        const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
        mma(s[n], af, b0, T());
        mma(s[n + 1], af, b1, T());
      }
    }

    // Scores in log2 units, visibility, running max.
    const int64_t j0 = t * BN;
    const bool full = tile_all_visible(j0, BN, r0, a.group, a.Sq, off, L, a.causal, a.mask != nullptr);
    float mx[2] = {m_run[0], m_run[1]};
#pragma unroll
    for (int n = 0; n < NB; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float x = s[n][e] * a.scale;
        if (a.softcap > 0.0f) x = a.softcap * tanhf(x / a.softcap);
        if (!full) {
          const int64_t j = j0 + n * 8 + 2 * (lane & 3) + (e & 1);
          const RowMap& qm = (e >> 1) ? q_hi : q_lo;
          const int64_t row = (e >> 1) ? row_hi : row_lo;
          if (row >= rows_total || !key_visible(qm.i, j, off, L, a.causal))
            x = -INFINITY;
          else if (a.mask)
            x = apply_mask(a, x, b, qm.h, qm.i, j);
        }
        x *= kLog2e;
        s[n][e] = x;
        mx[e >> 1] = fmaxf(mx[e >> 1], x);
      }
    float alpha[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
      mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
      alpha[h] = m_run[h] == -INFINITY ? 0.0f : exp2f(m_run[h] - mx[h]);  // mx >= m_run
      m_run[h] = mx[h];
      l_run[h] *= alpha[h];
    }
#pragma unroll
    for (int d = 0; d < DB; ++d)
#pragma unroll
      for (int e = 0; e < 4; ++e) o[d][e] *= alpha[e >> 1];
        // P = exp2(s - m) (0 where s = -inf, and for rows that have seen nothing visible yet).
#pragma unroll
    for (int n = 0; n < NB; ++n)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const float m = m_run[e >> 1];
        const float p = m == -INFINITY ? 0.0f : exp2f(s[n][e] - m);
        s[n][e] = p;
        l_run[e >> 1] += p;
      }

      // O += P V
#pragma unroll
    for (int kk = 0; kk < PS; ++kk) {
      uint32_t pf[4];
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const PSource ps = p_frag_source(r);
        pf[r] = pack2<T>(s[2 * kk + ps.nblock][ps.elem], s[2 * kk + ps.nblock][ps.elem + 1]);
      }
#pragma unroll
      for (int d = 0; d < DB; d += 2) {
        const cugemm::RowCol lv = v_ldsm(lane, kk, d * 8);
        uint32_t r[4];
        ldsm_x4_trans(smem_u32(v_t + tile_offset(lv.row, lv.col, RB)), r);
        const uint32_t b0[2] = {r[0], r[1]}, b1[2] = {r[2], r[3]};
        mma(o[d], pf, b0, T());
        mma(o[d + 1], pf, b1, T());
      }
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }
  cp_async_wait<0>();

  // Epilogue: quad-reduce l, normalize, store (or store the split's partial).
#pragma unroll
  for (int h = 0; h < 2; ++h) l_run[h] = quad_sum(l_run[h]);
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    if ((h ? row_hi : row_lo) >= rows_total) continue;
    const RowOut ro = row_out(a, l_run[h], m_run[h], b, h ? q_hi : q_lo, split);
#pragma unroll
    for (int d = 0; d < DB; ++d)
#pragma unroll
      for (int e = 0; e < 2; ++e) ro.put(a, d * 8 + 2 * (lane & 3) + e, o[d][2 * h + e]);
    if ((lane & 3) == 0) ro.put_lse();
  }
#endif
}

// Merge of the split partials, one thread per (row, d) element; splits summed in split order.
__global__ void attn_merge(Args a) {
  const int64_t rows = a.B * a.Hq * a.Sq, total = rows * a.D;
  for (int64_t x = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; x < total; x += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = x / a.D, d = x % a.D;
    float M = -INFINITY;
    for (int s = 0; s < a.splits; ++s) M = fmaxf(M, a.ws_lse[s * rows + r]);
    float num = 0.0f, den = 0.0f;
    if (M != -INFINITY) {
      for (int s = 0; s < a.splits; ++s) {
        const float ls = a.ws_lse[s * rows + r];
        if (ls == -INFINITY) continue;
        const float w = expf(ls - M);
        den += w;
        num += w * a.ws_o[(s * rows + r) * a.D + d];
      }
    }
    const int64_t i = r % a.Sq, h = (r / a.Sq) % a.Hq, b = r / (a.Sq * a.Hq);
    st_float(a.out, a.out_dtype, b * a.ob + h * a.oh + i * a.os + d, den > 0.0f ? num / den : 0.0f);
    if (a.lse && d == 0) a.lse[r] = den > 0.0f ? M + logf(den) : -INFINITY;
  }
}

// ---- SIMT fallback: exact fp32, any head dim, every device ----------------------------------------
// kSimtWarps warps per CTA (attention_configs.h).
// minBlocks 1: without it ptxas held the kernel to 56-64 registers and spilled around the division
// and exp slow-path calls; unspilled it takes 80 (six CTAs, 24 warps per SM).
__global__ void __launch_bounds__(kSimtWarps * 32, 1) attn_simt(Args a) {
  extern __shared__ float fsm[];  // per warp: q[D], o[Dv]
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int D = int(a.D), Dv = int(a.Dv);  // D + Dv <= the shared memory limit / 16: fit an int
  const int64_t rows = a.B * a.Hq * a.Sq;
  const int64_t r = int64_t(blockIdx.x) * kSimtWarps + warp;
  if (r >= rows) return;  // whole warps only: no later block-level sync
  float* qv = fsm + int64_t(warp) * (D + Dv);
  float* ov = qv + D;
  const int64_t i = r % a.Sq, h = (r / a.Sq) % a.Hq, b = r / (a.Sq * a.Hq), hk = h / a.group;
  const int64_t qo = b * a.qb + h * a.qh + i * a.qs;
  for (int d = lane; d < D; d += 32) qv[d] = ld_float(a.q, a.in_dtype, qo + d);
  for (int d = lane; d < Dv; d += 32) ov[d] = 0.0f;
  __syncwarp();
  const int64_t kvl = kv_len(a, b), L = visible_len(a, kvl), off = causal_off(a, kvl);
  const int64_t end = tile_key_end(i, i + 1, 1, a.Sq, off, L, a.causal);  // one row: group 1
  const int64_t kbase = b * a.kb + hk * a.kh, vbase = b * a.vb + hk * a.vh;
  // The divisions up front / after the loop: an IEEE division's slow path is a call, and values live
  // across it inside the loop went to the stack (ptxas -v on sm_86+).
  const float inv_cap = a.softcap > 0.0f ? 1.0f / a.softcap : 0.0f;
  float m = -INFINITY, l = 0.0f;
  for (int64_t j0 = 0; j0 < end; j0 += 32) {
    const int64_t j = j0 + lane;
    float s = -INFINITY;
    if (j < end) {
      float acc = 0.0f;
      for (int d = 0; d < D; ++d) acc = fmaf(qv[d], ld_float(a.k, a.in_dtype, kbase + j * a.ks + d), acc);
      s = acc * a.scale;
      if (a.softcap > 0.0f) s = a.softcap * tanhf(s * inv_cap);
      if (a.mask) s = apply_mask(a, s, b, h, i, j);
    }
    float mx = s;
    for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    const float m_new = fmaxf(m, mx);
    if (m_new == -INFINITY) continue;  // nothing visible yet
    const float alpha = m == -INFINITY ? 0.0f : expf(m - m_new);
    const float p = s == -INFINITY ? 0.0f : expf(s - m_new);
    float ps = p;
    for (int off = 16; off > 0; off >>= 1) ps += __shfl_xor_sync(0xffffffffu, ps, off);
    l = l * alpha + ps;
    m = m_new;
    for (int d = lane; d < Dv; d += 32) ov[d] *= alpha;
    const int n = end - j0 < 32 ? int(end - j0) : 32;
    for (int jj = 0; jj < n; ++jj) {
      const float pj = __shfl_sync(0xffffffffu, p, jj);
      if (pj == 0.0f) continue;
      const int64_t vo = vbase + (j0 + jj) * a.vs;
      for (int d = lane; d < Dv; d += 32) ov[d] = fmaf(pj, ld_float(a.v, a.in_dtype, vo + d), ov[d]);
    }
  }
  const float inv = l > 0.0f ? __frcp_rn(l) : 0.0f;
  const int64_t oo = b * a.ob + h * a.oh + i * a.os;
  for (int d = lane; d < Dv; d += 32) st_float(a.out, a.out_dtype, oo + d, ov[d] * inv);
  if (a.lse && lane == 0) a.lse[r] = l > 0.0f ? m + logf(l) : -INFINITY;
}

// A TileConfig (attention_configs.h) as the kernel's template argument.
template <const TileConfig& C>
struct Sm80Cfg {
  static constexpr int kHD = C.hd, kBM = C.bm, kBN = C.bn, kThreads = C.threads();
  static constexpr int kSmem = C.smem_bytes();
  static constexpr bool kQRegs = C.q_regs;
};

}  // namespace tk::cuattn
