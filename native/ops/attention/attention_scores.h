// The score stage of the attention tile kernel (attention_kernel_impl.h): tile constants, K packing
// (8x8 register transposes on x86), the M x NR score microkernel, and the policies that pick how q / k
// are packed and multiplied (float FMA everywhere; vdpbf16ps for bfloat16 on AVX512_BF16). Include only
// from an attention_cpu_<isa>.cc after defining TK_SIMD_ISA; everything has internal linkage.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "attention_kernels.h"
#include "attention_simd.h"

namespace {

using tk::attention_kernels::Problem;
using tk::attention_kernels::RowState;

constexpr int kMR = 6;       // rows per register tile: 6 x 2 accumulators + 2 loads + 1 broadcast fit 16 ymm
                             // (tiles of at most 4, 2 or 1 rows -- decoding -- use that many: no idle rows)
constexpr int NR = 2 * kW;   // keys (QK^T) or head-dim lanes (PV) per register tile
constexpr int QB = 8 * kMR;  // rows per call: K/V blocks are packed / read once for 48 rows
constexpr int BK = 64;       // keys per block: the QB x BK score tile (12 KB) stays in L1
static_assert(QB % kMR == 0 && BK % NR == 0, "tiles are whole register tiles");
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

inline int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

// 8 consecutive elements as floats (the 8x8 transpose packing of K).
#if TK_SIMD_ISA == 2 || TK_SIMD_ISA == 3
template <class T>
inline __m256 load8(const T* p);
template <>
inline __m256 load8<float>(const float* p) {
  return _mm256_loadu_ps(p);
}
template <>
inline __m256 load8<F16>(const F16* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
template <>
inline __m256 load8<BF16>(const BF16* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 16));
}

#endif

// kt[c][d][jj] = k[c * NR + jj][d] as float, keys >= nk zero. k rows are ldk elements apart.
template <class T>
void pack_k(const T* k, int64_t ldk, int64_t nk, int64_t D, float* kt) {
  const int64_t nchunks = (nk + NR - 1) / NR;
  for (int64_t c = 0; c < nchunks; ++c) {
    float* dst = kt + c * D * NR;
    for (int jj = 0; jj < NR; ++jj) {
      const int64_t j = c * NR + jj;
      int64_t d = 0;
#if TK_SIMD_ISA == 2 || TK_SIMD_ISA == 3
      // Whole groups of 8 keys x 8 dims: contiguous loads along D, an in-register transpose.
      if (jj % 8 == 0 && j + 8 <= nk) {
        for (; d + 8 <= D; d += 8) {
          __m256 r[8];
          for (int t = 0; t < 8; ++t) r[t] = load8<T>(k + (j + t) * ldk + d);
          transpose8(r);
          for (int t = 0; t < 8; ++t) _mm256_storeu_ps(dst + (d + t) * NR + jj, r[t]);
        }
        for (int t = 0; t < 8; ++t)
          for (int64_t dd = d; dd < D; ++dd) dst[dd * NR + jj + t] = load1<T>(k + (j + t) * ldk, dd);
        jj += 7;
        continue;
      }
#endif
      if (j < nk) {
        const T* row = k + j * ldk;
        for (; d < D; ++d) dst[d * NR + jj] = load1<T>(row, d);
      } else {
        for (; d < D; ++d) dst[d * NR + jj] = 0.0f;
      }
    }
  }
}

// s[ii][0:NR] = sum_d qp[d][ii] * kt[d][0:NR] for M rows (s rows lds apart).
template <int M>
inline void qk_tile(int64_t D, const float* qp, const float* kt, float* s, int64_t lds) {
  VF acc[M][2];
  for (int i = 0; i < M; ++i) acc[i][0] = acc[i][1] = vzero();
  for (int64_t d = 0; d < D; ++d) {
    const VF b0 = vload(kt + d * NR), b1 = vload(kt + d * NR + kW);
#pragma GCC unroll 6
    for (int i = 0; i < M; ++i) {
      const VF a = vset1(qp[d * M + i]);
      acc[i][0] = vfma(a, b0, acc[i][0]);
      acc[i][1] = vfma(a, b1, acc[i][1]);
    }
  }
  for (int i = 0; i < M; ++i) {
    vstore(s + i * lds, acc[i][0]);
    vstore(s + i * lds + kW, acc[i][1]);
  }
}

// The score stage as a policy, so one tile driver serves both the float path and AVX512_BF16's
// native dot products: how a query row and a K block are packed, and the M x NR score tile.
// Units are 32-bit words (a float, or a pair of bfloat16).
template <class T, int M>
struct FloatScores {
  static constexpr bool kPrescaled = true;  // scale folded into the packed q
  static constexpr bool kPairV = false;     // V packed as float rows, P V on FMAs (pv_tiles)
  static int64_t words(int64_t D) { return D; }
  static void pack_q(const T* row, int64_t D, float scale, void* dst) {  // dst[d * M]
    float* o = static_cast<float*>(dst);
    for (int64_t d = 0; d < D; ++d) o[d * M] = row ? scale * load1<T>(row, d) : 0.0f;
  }
  static void pack_k(const T* k, int64_t ldk, int64_t nk, int64_t D, void* kt) { ::pack_k<T>(k, ldk, nk, D, static_cast<float*>(kt)); }
  static void tile(int64_t D, const void* qp, const void* kt, float* s, int64_t lds) {
    qk_tile<M>(D, static_cast<const float*>(qp), static_cast<const float*>(kt), s, lds);
  }
};

#if TK_SIMD_ISA == 3
// bfloat16 q k^T on vdpbf16ps: each 32-bit lane multiplies a pair of bf16 (d, d + 1) and adds both
// products to a float accumulator, 32 multiply-adds per instruction. q stays unscaled bf16 (exact
// inputs; the scale is applied to the float scores), pairs are zero padded for odd D.
template <int M>
struct Bf16DotScores {
  static constexpr bool kPrescaled = false;
  static constexpr bool kPairV = true;  // P V on vdpbf16ps too: pack_v / pv below
  static int64_t words(int64_t D) { return (D + 1) / 2; }
  static uint32_t pair(const uint16_t* r, int64_t d, int64_t D) { return uint32_t(r[d]) | (d + 1 < D ? uint32_t(r[d + 1]) << 16 : 0u); }
  static void pack_q(const BF16* row, int64_t D, float, void* dst) {  // dst[d2 * M]
    uint32_t* o = static_cast<uint32_t*>(dst);
    const uint16_t* r = reinterpret_cast<const uint16_t*>(row);
    for (int64_t d2 = 0; d2 < words(D); ++d2) o[d2 * M] = row ? pair(r, 2 * d2, D) : 0u;
  }
  // kt[c][d2][NR] pairs; keys >= nk zero.
  static void pack_k(const BF16* k, int64_t ldk, int64_t nk, int64_t D, void* ktv) {
    uint32_t* kt = static_cast<uint32_t*>(ktv);
    const int64_t W = words(D);
    for (int64_t c = 0; c * NR < nk; ++c)
      for (int jj = 0; jj < NR; ++jj) {
        const int64_t j = c * NR + jj;
        const uint16_t* r = reinterpret_cast<const uint16_t*>(k + j * ldk);
        for (int64_t d2 = 0; d2 < W; ++d2) kt[(c * W + d2) * NR + jj] = j < nk ? pair(r, 2 * d2, D) : 0u;
      }
  }
  static void tile(int64_t D, const void* qpv, const void* ktv, float* s, int64_t lds) {
    const uint32_t* qp = static_cast<const uint32_t*>(qpv);
    const uint32_t* kt = static_cast<const uint32_t*>(ktv);
    __m512 acc[M][2];
    for (int i = 0; i < M; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int64_t d2 = 0; d2 < words(D); ++d2) {
      const __m512bh b0 = (__m512bh)_mm512_loadu_si512(kt + d2 * NR), b1 = (__m512bh)_mm512_loadu_si512(kt + d2 * NR + kW);
#pragma GCC unroll 6
      for (int i = 0; i < M; ++i) {
        const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(qp[d2 * M + i]));
        acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
        acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
      }
    }
    for (int i = 0; i < M; ++i) {
      _mm512_storeu_ps(s + i * lds, acc[i][0]);
      _mm512_storeu_ps(s + i * lds + kW, acc[i][1]);
    }
  }
  // V block as key pairs: vp[j2][d] = (v[2 j2][d], v[2 j2 + 1][d]) in one 32-bit word (exact: V is
  // bfloat16 already), keys >= nk and d >= Dv zero; rows ldo words apart, (nk + 1) / 2 rows.
  static void pack_v(const BF16* v, int64_t ldv, int64_t nk, int64_t Dv, int64_t ldo, void* dst) {
    uint32_t* vp = static_cast<uint32_t*>(dst);
    for (int64_t j2 = 0; 2 * j2 < nk; ++j2) {
      const uint16_t* r0 = reinterpret_cast<const uint16_t*>(v + 2 * j2 * ldv);
      const uint16_t* r1 = 2 * j2 + 1 < nk ? reinterpret_cast<const uint16_t*>(v + (2 * j2 + 1) * ldv) : nullptr;
      uint32_t* o = vp + j2 * ldo;
      int64_t d = 0;
      for (; d + kW <= Dv; d += kW) {
        const __m512i a = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r0 + d)));
        const __m512i b = r1 ? _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(r1 + d))) : _mm512_setzero_si512();
        _mm512_storeu_si512(o + d, _mm512_or_si512(a, _mm512_slli_epi32(b, 16)));
      }
      for (; d < Dv; ++d) o[d] = uint32_t(r0[d]) | (r1 ? uint32_t(r1[d]) << 16 : 0u);
      for (; d < ldo; ++d) o[d] = 0u;
    }
  }
  // o[r][0:ldo] += sum_j bf16(p[r][j]) * v[j][0:ldo] for ng groups of M rows: P rounded to bfloat16
  // (round to nearest even, relative error <= 2^-9 per weight; the running sum l keeps the float32 p),
  // then 32 multiply-adds per vdpbf16ps into the float32 accumulators. p's rows hold zeros past nk up
  // to a whole vector.
  static void pv(int64_t ng, int64_t nk, const float* p, int64_t lds, const void* vpv, float* o, int64_t ldo) {
    const uint32_t* vp = static_cast<const uint32_t*>(vpv);
    const int64_t np = (nk + 1) / 2, nkv = (nk + kW - 1) / kW * kW;
    alignas(64) uint32_t pp[M][BK / 2];
    for (int64_t g = 0; g < ng; ++g) {
      const float* pg = p + g * M * lds;
      float* og = o + g * M * ldo;
      for (int i = 0; i < M; ++i)
        for (int64_t j = 0; j < nkv; j += kW)
          _mm256_store_si256(reinterpret_cast<__m256i*>(&pp[i][j / 2]), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(pg + i * lds + j)));
      int64_t d = 0;
      for (; d + NR <= ldo; d += NR) {
        __m512 acc[M][2];
        for (int i = 0; i < M; ++i) acc[i][0] = _mm512_loadu_ps(og + i * ldo + d), acc[i][1] = _mm512_loadu_ps(og + i * ldo + d + kW);
        for (int64_t j2 = 0; j2 < np; ++j2) {
          const __m512bh v0 = (__m512bh)_mm512_loadu_si512(vp + j2 * ldo + d), v1 = (__m512bh)_mm512_loadu_si512(vp + j2 * ldo + d + kW);
#pragma GCC unroll 6
          for (int i = 0; i < M; ++i) {
            const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(pp[i][j2]));
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, v0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, v1);
          }
        }
        for (int i = 0; i < M; ++i) _mm512_storeu_ps(og + i * ldo + d, acc[i][0]), _mm512_storeu_ps(og + i * ldo + d + kW, acc[i][1]);
      }
      for (; d < ldo; d += kW) {  // ldo is a multiple of kW
        __m512 acc[M];
        for (int i = 0; i < M; ++i) acc[i] = _mm512_loadu_ps(og + i * ldo + d);
        for (int64_t j2 = 0; j2 < np; ++j2) {
          const __m512bh v0 = (__m512bh)_mm512_loadu_si512(vp + j2 * ldo + d);
          for (int i = 0; i < M; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], (__m512bh)_mm512_set1_epi32(static_cast<int>(pp[i][j2])), v0);
        }
        for (int i = 0; i < M; ++i) _mm512_storeu_ps(og + i * ldo + d, acc[i]);
      }
    }
  }
};
#endif

}  // namespace
