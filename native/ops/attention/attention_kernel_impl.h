// The flash-attention tile kernel, written once over core/simd.h's float vector and compiled in each
// ISA unit (attention_cpu_<isa>.cc defines TK_SIMD_ISA first). Everything has internal linkage.
//
// One call: a tile of up to QB query rows of one (batch, kv head) against keys [j0, j1), walked in
// blocks of BK keys. Per block:
//   1. K block packed transposed to float, kt[c][d][NR] (NR = 2 vectors of keys per chunk c), so the
//      score microkernel is the GEMM one: broadcast a q element, FMA with a vector of keys; V block
//      packed to aligned float rows. Done here, or once per head by the driver (prepack_block) when
//      several row tiles share the head.
//   2. S = (scale * Q) K^T into an L1-resident QB x BK tile, M x NR register tiles (M = 6, or 4 / 2 / 1
//      for tiles that small).
//   3. Per row: softcap, mask (only on blocks that need it: a mask, kv padding, or the causal
//      diagonal), running max, rescale of the accumulated row, P = exp(S - m) in place, running sum.
//   4. O += P V, M rows x 2 vectors of D in registers across the whole key block.
// The score tile never leaves L1/L2: scratch is O(QB * (D + BK) + BK * D) per thread, whatever Sq, Sk.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "../../core/scratch.h"
#include "attention_scores.h"

namespace {

// vp[j][0:ldo] = v[j][0:D] as float, zero padded to ldo: 32-byte aligned rows (typed arrays are
// only 8- or 16-byte aligned, and a 32-byte load across a cache line costs two) and float16 /
// bfloat16 converted once per block instead of once per row group.
template <class T>
void pack_v(const T* v, int64_t ldv, int64_t nk, int64_t D, int64_t ldo, float* vp) {
  for (int64_t j = 0; j < nk; ++j) {
    const T* row = v + j * ldv;
    float* dst = vp + j * ldo;
    int64_t d = 0;
    for (; d + kW <= D; d += kW) vstore(dst + d, loadv<T>(row + d));
    for (; d < D; ++d) dst[d] = load1<T>(row, d);
    for (; d < ldo; ++d) dst[d] = 0.0f;
  }
}

// o[r][0:ldo] += sum_{j < nk} p[r][j] * vp[j][0:ldo] for ng groups of M rows (p rows lds apart, o
// and vp rows ldo apart). The D chunk is the outer loop: its slice of the V block (nk x NR floats,
// 4 KB) stays in L1 while every row group streams over it.
template <int M>
inline void pv_tiles(int64_t ng, int64_t nk, const float* p, int64_t lds, const float* vp, float* o, int64_t ldo) {
  int64_t d = 0;
  for (; d + NR <= ldo; d += NR) {
    for (int64_t g = 0; g < ng; ++g) {
      const float* pg = p + g * M * lds;
      float* og = o + g * M * ldo;
      VF acc[M][2];
      for (int i = 0; i < M; ++i) acc[i][0] = vload(og + i * ldo + d), acc[i][1] = vload(og + i * ldo + d + kW);
      for (int64_t j = 0; j < nk; ++j) {
        const VF v0 = vload(vp + j * ldo + d), v1 = vload(vp + j * ldo + d + kW);
#pragma GCC unroll 6
        for (int i = 0; i < M; ++i) {
          const VF a = vset1(pg[i * lds + j]);
          acc[i][0] = vfma(a, v0, acc[i][0]);
          acc[i][1] = vfma(a, v1, acc[i][1]);
        }
      }
      for (int i = 0; i < M; ++i) vstore(og + i * ldo + d, acc[i][0]), vstore(og + i * ldo + d + kW, acc[i][1]);
    }
  }
  for (; d < ldo; d += kW) {  // ldo is a multiple of kW
    for (int64_t g = 0; g < ng; ++g) {
      const float* pg = p + g * M * lds;
      float* og = o + g * M * ldo;
      VF acc[M];
      for (int i = 0; i < M; ++i) acc[i] = vload(og + i * ldo + d);
      for (int64_t j = 0; j < nk; ++j) {
        const VF v0 = vload(vp + j * ldo + d);
        for (int i = 0; i < M; ++i) acc[i] = vfma(vset1(pg[i * lds + j]), v0, acc[i]);
      }
      for (int i = 0; i < M; ++i) vstore(og + i * ldo + d, acc[i]);
    }
  }
}

inline float mask_value(const Problem& p, int64_t off) {
  switch (p.mask_dtype) {
    case tk::DType::kInt8:
    case tk::DType::kBool: return static_cast<const int8_t*>(p.mask)[off] ? 0.0f : kNegInf;
    case tk::DType::kFloat16: return tk::f16_to_f32(static_cast<const uint16_t*>(p.mask)[off]);
    case tk::DType::kBFloat16: return tk::bf16_to_f32(static_cast<const uint16_t*>(p.mask)[off]);
    default: return static_cast<const float*>(p.mask)[off];
  }
}

// Words of one pre-packed key block: K as Scores packs it (BK x W), then V as pack_v (BK x ldo).
template <class Scores>
int64_t block_words(int64_t D, int64_t ldo) {
  return BK * std::max<int64_t>(Scores::words(D), 1) + BK * ldo;
}

template <class T, int M, class Scores>
void attention_tile(const Problem& p, int64_t b, int64_t hkv, int64_t r0, int64_t r1, int64_t j0, int64_t j1, const RowState& st,
                    const uint32_t* packed) {
  const int64_t D = p.D, nr = r1 - r0, ng = (nr + M - 1) / M, ldo = st.ldo;
  const int64_t W = std::max<int64_t>(Scores::words(D), 1);  // 32-bit words per packed q / k row
  uint32_t* qp = static_cast<uint32_t*>(tk::thread_scratch(tk::ScratchSlot::kPackA, 4 * (QB * W + BK * W + QB * BK + BK * ldo)));
  uint32_t* kt = qp + QB * W;
  float* s = reinterpret_cast<float*>(kt + BK * W);
  float* vp = s + QB * BK;  // 32-byte aligned: the offsets are multiples of 8 floats

  // Per-row facts: the last visible key and the mask row offset.
  int64_t last[QB], moff[QB];
  alignas(64) float m_new[QB + 16], alpha[QB + 16];  // + a vector of slack: the rows are walked kW at a time
  int64_t min_last = INT64_MAX;
  const T* q = static_cast<const T*>(p.q);
  for (int64_t ii = 0; ii < ng * M; ++ii) {
    uint32_t* dst = qp + (ii / M) * W * M + ii % M;
    if (ii >= nr) {
      Scores::pack_q(nullptr, D, p.scale, dst);
      continue;
    }
    const int64_t r = r0 + ii, i = r / p.group, hq = hkv * p.group + r % p.group;
    last[ii] = p.last_key(b, i);
    min_last = std::min(min_last, last[ii]);
    moff[ii] = b * p.mb + hq * p.mh + i * p.mi;
    Scores::pack_q(q + b * p.qb + hq * p.qh + i * p.qs, D, p.scale, dst);
  }
  for (int64_t ii = 0; ii < ng * M; ++ii)
    for (int64_t d = 0; d < ldo; ++d) st.o[ii * ldo + d] = 0.0f;
  for (int64_t ii = 0; ii < nr; ++ii) st.m[ii] = kNegInf, st.l[ii] = 0.0f;

  const T* kbase = static_cast<const T*>(p.k) + b * p.kb + hkv * p.kh;
  const T* vbase = static_cast<const T*>(p.v) + b * p.vb + hkv * p.vh;
  for (int64_t jb = j0; jb < j1; jb += BK) {
    const int64_t nk = std::min<int64_t>(BK, j1 - jb), nkv = round_up(nk, kW);
    // K and V of this block: pre-packed by the driver when several row tiles share them, else here.
    const uint32_t* ktb = kt;
    const float* vpb = vp;
    if (packed) {
      ktb = packed + (jb / BK) * block_words<Scores>(D, ldo);
      vpb = reinterpret_cast<const float*>(ktb + BK * W);
    } else {
      Scores::pack_k(kbase + jb * p.ks, p.ks, nk, D, kt);
    }
    for (int64_t c = 0; c * NR < nk; ++c)
      for (int64_t g = 0; g < ng; ++g) Scores::tile(D, qp + g * W * M, ktb + c * W * NR, s + g * M * BK + c * NR, BK);
    // Blocks wholly below every row's last key and with no mask take the fast path.
    const bool need_mask = p.mask != nullptr || jb + nk - 1 > min_last;
    for (int64_t ii = 0; ii < nr; ++ii) {
      float* srow = s + ii * BK;
      if (!Scores::kPrescaled) {
        const VF sc = vset1(p.scale);
        for (int64_t j = 0; j < nk; j += kW) vstore(srow + j, vmul(vload(srow + j), sc));  // BK is a multiple of kW
      }
      if (p.softcap > 0.0f) {
        const float inv = 1.0f / p.softcap;
        for (int64_t j = 0; j < nk; ++j) srow[j] = p.softcap * std::tanh(srow[j] * inv);
      }
      if (need_mask) {
        const int64_t lim = last[ii] - jb;  // srow[j] visible by length / causal iff j <= lim
        for (int64_t j = 0; j < nk; ++j) {
          if (j > lim)
            srow[j] = kNegInf;
          else if (p.mask)
            srow[j] += mask_value(p, moff[ii] + (jb + j) * p.mj);
        }
      }
      for (int64_t j = nk; j < nkv; ++j) srow[j] = kNegInf;  // padding lanes
      VF mx = vset1(kNegInf);
      for (int64_t j = 0; j < nkv; j += kW) mx = vmaxv(mx, vload(srow + j));
      m_new[ii] = std::max(st.m[ii], vhmax(mx));
    }
    // The rescale factors exp(m_old - m_new) of all rows at once, on the vector exp (a scalar libm
    // call per row and block was a long dependency chain between rows). Rows that saw nothing yet
    // (m_new = -inf) get 0 here and are skipped below.
    for (int64_t ii = 0; ii < nr; ii += kW) {
      VF d = vadd(vload(st.m + ii), vmul(vload(m_new + ii), vset1(-1.0f)));
      vstore(alpha + ii, vexp(d));
    }
    for (int64_t ii = 0; ii < nr; ++ii) {
      float* srow = s + ii * BK;
      const float mn = m_new[ii];
      if (mn == kNegInf) {  // nothing visible to this row yet
        for (int64_t j = 0; j < nkv; ++j) srow[j] = 0.0f;
        continue;
      }
      const float a = st.m[ii] == kNegInf ? 0.0f : alpha[ii];
      const VF mv = vset1(-mn);
      VF sum = vzero();
      for (int64_t j = 0; j < nkv; j += kW) {
        const VF e = vexp(vadd(vload(srow + j), mv));
        vstore(srow + j, e);
        sum = vadd(sum, e);
      }
      st.l[ii] = st.l[ii] * a + vhsum(sum);
      st.m[ii] = mn;
      if (a != 1.0f) {
        float* orow = st.o + ii * ldo;
        const VF av = vset1(a);
        for (int64_t d = 0; d < ldo; d += kW) vstore(orow + d, vmul(vload(orow + d), av));
      }
    }
    if constexpr (Scores::kPairV) {
      if (!packed) Scores::pack_v(vbase + jb * p.vs, p.vs, nk, p.Dv, ldo, vp);
      Scores::pv(ng, nk, s, BK, vpb, st.o, ldo);
    } else {
      if (!packed) pack_v<T>(vbase + jb * p.vs, p.vs, nk, p.Dv, ldo, vp);
      pv_tiles<M>(ng, nk, s, BK, vpb, st.o, ldo);
    }
  }
}

// Tiles of at most 4, 2 or 1 rows (decoding: Sq = 1..4 times the GQA group) run register tiles of
// that height instead of computing idle rows.
template <class T, template <class, int> class Scores>
void attention_tile_rows(const Problem& p, int64_t b, int64_t hkv, int64_t r0, int64_t r1, int64_t j0, int64_t j1, const RowState& st,
                         const void* packed) {
  const int64_t nr = r1 - r0;
  const uint32_t* pk = static_cast<const uint32_t*>(packed);
  if (nr <= 1) return attention_tile<T, 1, Scores<T, 1>>(p, b, hkv, r0, r1, j0, j1, st, pk);
  if (nr <= 2) return attention_tile<T, 2, Scores<T, 2>>(p, b, hkv, r0, r1, j0, j1, st, pk);
  if (nr <= 4) return attention_tile<T, 4, Scores<T, 4>>(p, b, hkv, r0, r1, j0, j1, st, pk);
  attention_tile<T, kMR, Scores<T, kMR>>(p, b, hkv, r0, r1, j0, j1, st, pk);
}

// Packs key block [jb, jb + BK) of (b, hkv) for every row tile to share.
template <class T, class Scores>
void prepack_block(const Problem& p, int64_t b, int64_t hkv, int64_t jb, int64_t ldo, void* dst) {
  const int64_t nk = std::min<int64_t>(BK, p.Sk - jb);
  const T* kb = static_cast<const T*>(p.k) + b * p.kb + hkv * p.kh + jb * p.ks;
  const T* vb = static_cast<const T*>(p.v) + b * p.vb + hkv * p.vh + jb * p.vs;
  uint32_t* kt = static_cast<uint32_t*>(dst);
  Scores::pack_k(kb, p.ks, nk, p.D, kt);
  uint32_t* vdst = kt + BK * std::max<int64_t>(Scores::words(p.D), 1);
  if constexpr (Scores::kPairV)
    Scores::pack_v(vb, p.vs, nk, p.Dv, ldo, vdst);
  else
    pack_v<T>(vb, p.vs, nk, p.Dv, ldo, reinterpret_cast<float*>(vdst));
}

void attention_tile_any(const Problem& p, int64_t b, int64_t hkv, int64_t r0, int64_t r1, int64_t j0, int64_t j1, const RowState& st,
                        const void* packed) {
  switch (p.dtype) {
    case tk::DType::kFloat16: return attention_tile_rows<F16, FloatScores>(p, b, hkv, r0, r1, j0, j1, st, packed);
    case tk::DType::kBFloat16: return attention_tile_rows<BF16, FloatScores>(p, b, hkv, r0, r1, j0, j1, st, packed);
    default: return attention_tile_rows<float, FloatScores>(p, b, hkv, r0, r1, j0, j1, st, packed);
  }
}

void prepack_any(const Problem& p, int64_t b, int64_t hkv, int64_t jb, int64_t ldo, void* dst) {
  switch (p.dtype) {
    case tk::DType::kFloat16: return prepack_block<F16, FloatScores<F16, kMR>>(p, b, hkv, jb, ldo, dst);
    case tk::DType::kBFloat16: return prepack_block<BF16, FloatScores<BF16, kMR>>(p, b, hkv, jb, ldo, dst);
    default: return prepack_block<float, FloatScores<float, kMR>>(p, b, hkv, jb, ldo, dst);
  }
}

int64_t block_words_any(tk::DType, int64_t D, int64_t ldo) { return block_words<FloatScores<float, kMR>>(D, ldo); }

#if TK_SIMD_ISA == 3
template <class T, int M>
using Bf16Dot = Bf16DotScores<M>;

// bfloat16 inputs on AVX512_BF16 dot products; other dtypes as attention_tile_any.
void attention_tile_bf16dot(const Problem& p, int64_t b, int64_t hkv, int64_t r0, int64_t r1, int64_t j0, int64_t j1, const RowState& st,
                            const void* packed) {
  if (p.dtype == tk::DType::kBFloat16) return attention_tile_rows<BF16, Bf16Dot>(p, b, hkv, r0, r1, j0, j1, st, packed);
  attention_tile_any(p, b, hkv, r0, r1, j0, j1, st, packed);
}
void prepack_bf16dot(const Problem& p, int64_t b, int64_t hkv, int64_t jb, int64_t ldo, void* dst) {
  if (p.dtype == tk::DType::kBFloat16) return prepack_block<BF16, Bf16DotScores<kMR>>(p, b, hkv, jb, ldo, dst);
  prepack_any(p, b, hkv, jb, ldo, dst);
}
int64_t block_words_bf16dot(tk::DType dt, int64_t D, int64_t ldo) {
  return dt == tk::DType::kBFloat16 ? block_words<Bf16DotScores<kMR>>(D, ldo) : block_words_any(dt, D, ldo);
}
#endif

int64_t ldo_for(int64_t D) { return round_up(std::max<int64_t>(D, 1), kW); }

}  // namespace
#include "attention_decode_impl.h"
namespace {

void fill_kernels(tk::attention_kernels::Kernels* k, const char* name) {
  k->name = name;
  k->decode_rows = kDecodeRows;
  k->decode = attention_decode_any;
  k->row_tile = QB;
  k->key_tile = BK;
  k->ldo = ldo_for;
  k->run = attention_tile_any;
  k->prepack = prepack_any;
  k->block_words = block_words_any;
}

}  // namespace
