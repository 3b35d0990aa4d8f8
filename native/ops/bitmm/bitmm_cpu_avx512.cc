// bitmm's AVX-512 kernels: AND / XOR of 512-bit plane chunks, counted by VPOPCNTQ into 16 64-bit
// accumulator vectors (a 4 x 4 tile), or by VPOPCNTB + VPSADBW (BITALG; kept to measure against).
// Both need ISA extensions beyond the avx512 family's flags (every CPU with one has both: Ice Lake,
// Zen 4 and later): the kernels are compiled for them in the region below and chosen only when CPUID
// reports both.
#include <immintrin.h>

#include "bitmm_kernels.h"

namespace tk::bitmm_kernels {
namespace {

#pragma GCC push_options
#pragma GCC target("avx512vpopcntdq,avx512bitalg")

template <bool kXor, bool kBytes>
inline __attribute__((always_inline)) __m512i count(__m512i x, __m512i y) {
  const __m512i v = kXor ? _mm512_xor_si512(x, y) : _mm512_and_si512(x, y);
  if constexpr (kBytes)
    return _mm512_sad_epu8(_mm512_popcnt_epi8(v), _mm512_setzero_si512());
  else
    return _mm512_popcnt_epi64(v);
}

template <bool kXor, bool kBytes>
inline __attribute__((always_inline)) void tile_body(const uint64_t* const* a, const uint64_t* const* b, int64_t W, int64_t* P) {
  __m512i acc[kTile * kTile];
#pragma GCC unroll 16
  for (int i = 0; i < kTile * kTile; ++i) acc[i] = _mm512_setzero_si512();
  int64_t w = 0;
  for (; w + 8 <= W; w += 8) {
    __m512i bv[kTile];
#pragma GCC unroll 4
    for (int c = 0; c < kTile; ++c) bv[c] = _mm512_loadu_si512(b[c] + w);
#pragma GCC unroll 4
    for (int r = 0; r < kTile; ++r) {
      const __m512i av = _mm512_loadu_si512(a[r] + w);
#pragma GCC unroll 4
      for (int c = 0; c < kTile; ++c) acc[r * kTile + c] = _mm512_add_epi64(acc[r * kTile + c], count<kXor, kBytes>(av, bv[c]));
    }
  }
  if (w < W) {  // masked loads read zeros past W: AND and XOR of two zeros count nothing
    const __mmask8 m = static_cast<__mmask8>((1u << (W - w)) - 1);
    __m512i bv[kTile];
#pragma GCC unroll 4
    for (int c = 0; c < kTile; ++c) bv[c] = _mm512_maskz_loadu_epi64(m, b[c] + w);
#pragma GCC unroll 4
    for (int r = 0; r < kTile; ++r) {
      const __m512i av = _mm512_maskz_loadu_epi64(m, a[r] + w);
#pragma GCC unroll 4
      for (int c = 0; c < kTile; ++c) acc[r * kTile + c] = _mm512_add_epi64(acc[r * kTile + c], count<kXor, kBytes>(av, bv[c]));
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < kTile * kTile; ++i) P[i] = _mm512_reduce_add_epi64(acc[i]);
}

void tile_q_and(const uint64_t* const* a, const uint64_t* const* b, int64_t W, int64_t* P) {
  tile_body<false, false>(a, b, W, P);
}
void tile_q_xor(const uint64_t* const* a, const uint64_t* const* b, int64_t W, int64_t* P) {
  tile_body<true, false>(a, b, W, P);
}
void tile_b_and(const uint64_t* const* a, const uint64_t* const* b, int64_t W, int64_t* P) {
  tile_body<false, true>(a, b, W, P);
}
void tile_b_xor(const uint64_t* const* a, const uint64_t* const* b, int64_t W, int64_t* P) {
  tile_body<true, true>(a, b, W, P);
}

#pragma GCC pop_options

void tile_q(const uint64_t* const* a, const uint64_t* const* b, int64_t W, bool xor_op, int64_t* P) {
  if (xor_op)
    tile_q_xor(a, b, W, P);
  else
    tile_q_and(a, b, W, P);
}
void tile_b(const uint64_t* const* a, const uint64_t* const* b, int64_t W, bool xor_op, int64_t* P) {
  if (xor_op)
    tile_b_xor(a, b, W, P);
  else
    tile_b_and(a, b, W, P);
}

}  // namespace

bool get_kernels_avx512(Kernels* k, bool bytewise) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512vpopcntdq") || !__builtin_cpu_supports("avx512bitalg")) return false;
  if (bytewise) {
    k->name = "avx512-vpopcntb";
    k->tile = tile_b;
    return true;
  }
  k->name = "avx512-vpopcntq";
  k->tile = tile_q;
  return true;
}

}  // namespace tk::bitmm_kernels
