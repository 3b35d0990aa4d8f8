// attn_decode<HD, T>: the split-KV decode kernel (flash-decoding) for Sq * group <= 8 packed rows.
//
// Grid (B * Hkv * row chunks, KV splits), kDecodeWarps warps per CTA. The CTA's <= 8 packed rows
// (queries of the GQA group x query positions, attention_cuda_layout.h row_to_query) are scaled and
// kept in shared memory as fp32; K and V tiles of DecodeConfig::keys() keys stream through two
// cp.async stages (load_tile of the sm80 kernel: the same swizzled tiles, converting loads for
// float32 / odd head dims / misaligned views). Each warp owns kpw keys of every tile:
//   scores   lane (key, part) sums q . k over its part of the head dim from the swizzled K tile,
//            fp32 FMA on the 16-bit k values (no tensor cores: a decode step is bound by the KV
//            read, and m16 tiles would be 1/16 used for MHA); the parts are added with shuffles;
//   softmax  softcap, kvLengths / causal visibility and the mask per element (only on tiles that
//            need it), a running max per row per warp (warp shuffles once per tile), base-2
//            exponentials, a per-lane partial sum;
//   P V      lane owns hd / 32 output columns of every row and walks the warp's keys, the key's p
//            broadcast by a shuffle.
// At the end the warps' (m, l, o) go to shared memory (over the stages) and are merged in warp
// order; with splits > 1 the CTA writes its normalized partial and lse to the workspace and
// attn_merge combines the splits in split order (deterministic, like the sm80 kernel's).
#pragma once
#include "attention_kernel_sm80.cuh"

namespace tk::cuattn {

template <int N>
struct VecOf;
template <>
struct VecOf<2> {
  using type = uint16_t;
};
template <>
struct VecOf<4> {
  using type = uint32_t;
};
template <>
struct VecOf<8> {
  using type = uint2;
};
template <>
struct VecOf<16> {
  using type = uint4;
};

template <class T>
__device__ __forceinline__ float to_f(uint16_t h);
template <>
__device__ __forceinline__ float to_f<__half>(uint16_t h) {
  return __half2float(__ushort_as_half(h));
}
template <>
__device__ __forceinline__ float to_f<__nv_bfloat16>(uint16_t h) {
  return __bfloat162float(__ushort_as_bfloat16(h));
}

// The n 16-bit values at p (n * 2 bytes, aligned to that) as floats.
template <class T, int N>
__device__ __forceinline__ void ld_vals(const uint8_t* p, float (&f)[N]) {
  static_assert(N * 2 <= 16, "one 16-byte chunk at most");
  typename VecOf<N* 2>::type v = *reinterpret_cast<const typename VecOf<N * 2>::type*>(p);
  uint16_t h[N];
  memcpy(h, &v, sizeof(h));
#pragma unroll
  for (int e = 0; e < N; ++e) f[e] = to_f<T>(h[e]);
}

template <int HD>
struct DecCfg {
  static constexpr DecodeConfig C = decode_config(HD);
  static constexpr int kKpw = C.kpw, kThreads = kDecodeWarps * 32, kSmem = C.smem_bytes();
};

// minBlocks 1: without it ptxas traded a few bytes of spills for an occupancy step (80 / 96 registers
// at head dims 32 / 64); the kernel is bound by the KV read, and it fits in 92-150 registers unspilled.
template <int HD, class T>
__global__ void __launch_bounds__(kDecodeWarps * 32, 1) attn_decode(Args a) {
#if __CUDA_ARCH__ >= 800
  using namespace sm80;
  constexpr DecodeConfig C = decode_config(HD);
  constexpr int R = kDecodeRows, W = kDecodeWarps, THREADS = W * 32, RB = HD * 2, BN = C.keys();
  constexpr int KPW = C.kpw, LPK = C.lpk(), CPL = C.chunks_per_lane(), VE = C.v_elems();
  constexpr float kLog2e = 1.4426950408889634f;
  static_assert(C.merge_bytes() <= 4 * C.stage_bytes(), "the merge area fits over the stages");
  extern __shared__ __align__(128) uint8_t smem[];
  float* sQ = reinterpret_cast<float*>(smem);  // [R][HD], scaled
  uint8_t* sK = smem + C.q_bytes();            // [2][BN * RB]
  uint8_t* sV = sK + 2 * BN * RB;              // [2][BN * RB]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t chunks = decode_row_chunks(a.Sq * a.group);
  const int64_t bh = int64_t(blockIdx.x) / chunks, b = bh / a.Hkv, hkv = bh % a.Hkv;
  const int64_t rows_total = a.Sq * a.group;
  const int64_t r0 = (int64_t(blockIdx.x) % chunks) * R;
  const int nrows = int(rows_total - r0 < R ? rows_total - r0 : R);
  const int split = blockIdx.y;
  const int64_t kvl = kv_len(a, b), L = visible_len(a, kvl), off = causal_off(a, kvl);
  const int64_t key_end = tile_key_end(r0, r0 + nrows, a.group, a.Sq, off, L, a.causal);
  // Key indices fit an int here (Sk < 2^31: attention_cuda.cu; the causal offset is in [-Sq, Sk]), so
  // each row's visibility is one 32-bit bound, recomputed where needed (a per-row array cost the
  // kernel spills). Rows are in query order, so row 0's bound is the smallest: a key tile wholly at
  // or below it needs no per-element test (tile_all_visible's rule).
  const int len_last = int(L) - 1, offv = int(off);
  // The last key row r sees by the length and causal rules (-1: none).
  auto last_key = [&](int r) {
    const int c = int((r0 + r) / a.group) + offv;
    return a.causal && c < len_last ? c : len_last;
  };
  const int last0 = last_key(0);
  const int64_t n_tiles = (key_end + BN - 1) / BN;
  const int64_t tps = split_tiles_per(n_tiles, a.splits);
  const int64_t t_begin = split * tps < n_tiles ? split * tps : n_tiles;
  const int64_t t_end = t_begin + tps < n_tiles ? t_begin + tps : n_tiles;
  auto kv_rows = [&](const void* base, int64_t t) {
    return KvRows{static_cast<const uint8_t*>(base), b * a.kb + hkv * a.kh, a.ks, t * BN, key_end};
  };
  if (t_begin < t_end) {
    load_tile<T, HD, THREADS>(a, sK, BN, kv_rows(a.k, t_begin), tid);
    load_tile<T, HD, THREADS>(a, sV, BN, kv_rows(a.v, t_begin), tid);
  }
  cp_async_commit();
  // q rows, scaled, fp32 (float32 inputs keep their precision here; k and v are 16-bit in smem)
  for (int x = tid; x < R * HD; x += THREADS) {
    const int r = x / HD, d = x % HD;
    float qv = 0.0f;
    if (r < nrows && d < a.D) {
      const RowMap m = row_to_query(r0 + r, hkv, a.group);
      qv = ld_float(a.q, a.in_dtype, b * a.qb + m.h * a.qh + m.i * a.qs + d) * a.scale;
    }
    sQ[x] = qv;
  }

  float o[R][VE], m_run[R], l_run[R];
#pragma unroll
  for (int r = 0; r < R; ++r) {
    m_run[r] = -INFINITY, l_run[r] = 0.0f;
#pragma unroll
    for (int e = 0; e < VE; ++e) o[r][e] = 0.0f;
  }
  const int part = lane / KPW;
  const float inv_cap = a.softcap > 0.0f ? 1.0f / a.softcap : 0.0f;

  for (int64_t t = t_begin; t < t_end; ++t) {
    const int st = int((t - t_begin) & 1);
    if (t + 1 < t_end) {
      load_tile<T, HD, THREADS>(a, sK + (st ^ 1) * BN * RB, BN, kv_rows(a.k, t + 1), tid);
      load_tile<T, HD, THREADS>(a, sV + (st ^ 1) * BN * RB, BN, kv_rows(a.v, t + 1), tid);
    }
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();  // (also publishes sQ on the first tile)
    const uint8_t* k_t = sK + st * BN * RB;
    const uint8_t* v_t = sV + st * BN * RB;

    float s[R];
#pragma unroll
    for (int r = 0; r < R; ++r) s[r] = 0.0f;
#pragma unroll
    for (int c = 0; c < CPL; ++c) {
      const cugemm::RowCol kc = decode_k_chunk(C, warp, lane, c);
      float kf[8];
      ld_vals<T, 8>(k_t + tile_offset(kc.row, kc.col, RB), kf);
#pragma unroll
      for (int r = 0; r < R; ++r) {
        if (r >= nrows) break;
        const float4 q0 = *reinterpret_cast<const float4*>(sQ + r * HD + kc.col / 2);
        const float4 q1 = *reinterpret_cast<const float4*>(sQ + r * HD + kc.col / 2 + 4);
        float acc = s[r];
        acc = fmaf(q0.x, kf[0], acc), acc = fmaf(q0.y, kf[1], acc), acc = fmaf(q0.z, kf[2], acc), acc = fmaf(q0.w, kf[3], acc);
        acc = fmaf(q1.x, kf[4], acc), acc = fmaf(q1.y, kf[5], acc), acc = fmaf(q1.z, kf[6], acc), acc = fmaf(q1.w, kf[7], acc);
        s[r] = acc;
      }
    }
    const int64_t j0 = t * BN;
    const int64_t j = j0 + warp * KPW + lane % KPW;
    const bool full = a.mask == nullptr && j0 + BN - 1 <= last0;
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (r >= nrows) break;
#pragma unroll
      for (int off = KPW; off < 32; off <<= 1) s[r] += __shfl_xor_sync(0xffffffffu, s[r], off);
      float x = s[r];
      if (a.softcap > 0.0f) x = a.softcap * tanhf(x * inv_cap);
      if (!full) {
        if (j > last_key(r)) {
          x = -INFINITY;
        } else if (a.mask) {
          const RowMap m = row_to_query(r0 + r, hkv, a.group);
          x = apply_mask(a, x, b, m.h, m.i, j);
        }
      }
      x *= kLog2e;
      float mx = x;
#pragma unroll
      for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      const float m_new = fmaxf(m_run[r], mx);
      const float alpha = m_run[r] == -INFINITY ? 0.0f : exp2f(m_run[r] - m_new);
      const float p = m_new == -INFINITY ? 0.0f : exp2f(x - m_new);
      m_run[r] = m_new;
      l_run[r] = l_run[r] * alpha + (part == 0 ? p : 0.0f);
#pragma unroll
      for (int e = 0; e < VE; ++e) o[r][e] *= alpha;
      s[r] = p;
    }
    // O += P V over the warp's keys
#pragma unroll 4
    for (int kk = 0; kk < KPW; ++kk) {
      float vf[VE];
      ld_vals<T, VE>(v_t + tile_offset(warp * KPW + kk, decode_v_elem(C, lane) * 2, RB), vf);
#pragma unroll
      for (int r = 0; r < R; ++r) {
        if (r >= nrows) break;
        const float p = __shfl_sync(0xffffffffu, s[r], decode_p_lane(C, kk));
#pragma unroll
        for (int e = 0; e < VE; ++e) o[r][e] = fmaf(p, vf[e], o[r][e]);
      }
    }
    __syncthreads();  // every warp is done with this stage before it is refilled
  }
  cp_async_wait<0>();
  __syncthreads();

  // The warps' states over the stages: o [W][R][HD], m [W][R], l [W][R].
  float* mo = reinterpret_cast<float*>(sK);
  float* mm = mo + W * R * HD;
  float* ml = mm + W * R;
#pragma unroll
  for (int r = 0; r < R; ++r) {
    if (r >= nrows) break;
    float l = l_run[r];
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) l += __shfl_xor_sync(0xffffffffu, l, off);
#pragma unroll
    for (int e = 0; e < VE; ++e) mo[(warp * R + r) * HD + decode_v_elem(C, lane) + e] = o[r][e];
    if (lane == 0) mm[warp * R + r] = m_run[r], ml[warp * R + r] = l;
  }
  __syncthreads();
  for (int x = tid; x < nrows * HD; x += THREADS) {
    const int r = x / HD, d = x % HD;
    if (d >= a.D) continue;
    float M = -INFINITY;
#pragma unroll
    for (int w = 0; w < W; ++w) M = fmaxf(M, mm[w * R + r]);
    float num = 0.0f, den = 0.0f;
    if (M != -INFINITY) {
#pragma unroll
      for (int w = 0; w < W; ++w) {
        const float mw = mm[w * R + r];
        if (mw == -INFINITY) continue;
        const float f = exp2f(mw - M);
        den += f * ml[w * R + r];
        num += f * mo[(w * R + r) * HD + d];
      }
    }
    const RowOut ro = row_out(a, den, M, b, row_to_query(r0 + r, hkv, a.group), split);
    ro.put(a, d, num);
    if (d == 0) ro.put_lse();
  }
#endif
}

}  // namespace tk::cuattn
