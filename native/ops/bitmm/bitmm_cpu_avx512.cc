// bitmm's AVX-512 kernels: AND / XOR of 512-bit plane chunks, counted by VPOPCNTQ into 16 64-bit
// accumulator vectors (a 4 x 4 tile), or by VPOPCNTB + VPSADBW (BITALG; kept to measure against).
// Several planes a side: each plane pair's count is weighted by its +-2^(i+j) -- by VPDPBUSD on the
// byte counts when every weight fits a signed byte (ba + bb <= 8, VNNI), else by a shift.
// Both need ISA extensions beyond the avx512 family's flags (every CPU with one has both: Ice Lake,
// Zen 4 and later): the kernels are compiled for them in the region below and chosen only when CPUID
// reports both.
#include <immintrin.h>

#include "bitmm_kernels.h"

namespace tk::bitmm_kernels {
namespace {

bool g_vnni = false;  // set once by get_kernels_avx512 (the table is filled under a once flag)

// (GCC: the target pragma; clang ignores it and takes the attribute on every function instead.)
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512vpopcntdq,avx512bitalg,avx512vnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512vpopcntdq,avx512bitalg,avx512vnni")
#endif

template <bool kXor, bool kBytes>
inline __attribute__((always_inline)) __m512i count(__m512i x, __m512i y) {
  const __m512i v = kXor ? _mm512_xor_si512(x, y) : _mm512_and_si512(x, y);
  if constexpr (kBytes)
    return _mm512_sad_epu8(_mm512_popcnt_epi8(v), _mm512_setzero_si512());
  else
    return _mm512_popcnt_epi64(v);
}

// The 16 accumulators' lane sums, in order: pairs of vectors interleave (unpack), then 128-bit
// lanes fold twice (shuffle_i64x2): 42 instructions instead of 16 horizontal reductions. Stored as
// int32 (modulo 2^32, VPMOVQD), times `sgn` (+-1), four per row at y, y + ldy, ...
inline __attribute__((always_inline)) void reduce16_store(const __m512i* acc, bool negate, int32_t* y, int64_t ldy) {
  __m512i u[8], w[4];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k)
    u[k] = _mm512_add_epi64(_mm512_unpacklo_epi64(acc[2 * k], acc[2 * k + 1]), _mm512_unpackhi_epi64(acc[2 * k], acc[2 * k + 1]));
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k)
    w[k] = _mm512_add_epi64(_mm512_shuffle_i64x2(u[2 * k], u[2 * k + 1], 0x88), _mm512_shuffle_i64x2(u[2 * k], u[2 * k + 1], 0xdd));
  __m512i z0 = _mm512_add_epi64(_mm512_shuffle_i64x2(w[0], w[1], 0x88), _mm512_shuffle_i64x2(w[0], w[1], 0xdd));
  __m512i z1 = _mm512_add_epi64(_mm512_shuffle_i64x2(w[2], w[3], 0x88), _mm512_shuffle_i64x2(w[2], w[3], 0xdd));
  if (negate) {
    z0 = _mm512_sub_epi64(_mm512_setzero_si512(), z0);
    z1 = _mm512_sub_epi64(_mm512_setzero_si512(), z1);
  }
  const __m256i y0 = _mm512_cvtepi64_epi32(z0), y1 = _mm512_cvtepi64_epi32(z1);  // rows 0, 1 / rows 2, 3
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y), _mm256_castsi256_si128(y0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y + ldy), _mm256_extracti128_si256(y0, 1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y + 2 * ldy), _mm256_castsi256_si128(y1));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(y + 3 * ldy), _mm256_extracti128_si256(y1, 1));
}

// One K chunk of 8 words (masked: fewer) for every plane pair, weighted by shifts (kOne: one plane
// each side, weighted after the reduction).
template <bool kXor, bool kBytes, bool kOne, bool kDp, bool kMasked>
inline __attribute__((always_inline)) void chunk(const uint64_t* const* a, const uint64_t* const* b, int ba, int bb, int64_t W, int64_t w,
                                                 __mmask8 m, const int64_t* wa, const int64_t* wb, __m512i* acc) {
  auto load = [&](const uint64_t* p) { return kMasked ? _mm512_maskz_loadu_epi64(m, p) : _mm512_loadu_si512(p); };
  for (int j = 0; j < (kOne ? 1 : bb); ++j) {
    __m512i bv[kTile];
#pragma GCC unroll 4
    for (int c = 0; c < kTile; ++c) bv[c] = load(b[c] + j * W + w);
    for (int i = 0; i < (kOne ? 1 : ba); ++i) {
      if (kOne) {
#pragma GCC unroll 4
        for (int r = 0; r < kTile; ++r) {
          const __m512i av = load(a[r] + w);
#pragma GCC unroll 4
          for (int c = 0; c < kTile; ++c) acc[r * kTile + c] = _mm512_add_epi64(acc[r * kTile + c], count<kXor, kBytes>(av, bv[c]));
        }
      } else if (kDp) {
        // Byte counts (0..8) times the pair's weight as a signed byte, 4 bytes summed into each
        // int32 lane by VPDPBUSD: the weight costs no extra instruction (|weight| <= 64).
        const __m512i wv = _mm512_set1_epi8(static_cast<char>(wa[i] * wb[j]));
#pragma GCC unroll 4
        for (int r = 0; r < kTile; ++r) {
          const __m512i av = load(a[r] + i * W + w);
#pragma GCC unroll 4
          for (int c = 0; c < kTile; ++c) {
            const __m512i v = kXor ? _mm512_xor_si512(av, bv[c]) : _mm512_and_si512(av, bv[c]);
            acc[r * kTile + c] = _mm512_dpbusd_epi32(acc[r * kTile + c], _mm512_popcnt_epi8(v), wv);
          }
        }
      } else {
        const __m128i sh = _mm_cvtsi32_si128(i + j);
        const bool neg = (wa[i] < 0) != (wb[j] < 0);
#pragma GCC unroll 4
        for (int r = 0; r < kTile; ++r) {
          const __m512i av = load(a[r] + i * W + w);
#pragma GCC unroll 4
          for (int c = 0; c < kTile; ++c) {
            const __m512i x = _mm512_sll_epi64(count<kXor, kBytes>(av, bv[c]), sh);
            acc[r * kTile + c] = neg ? _mm512_sub_epi64(acc[r * kTile + c], x) : _mm512_add_epi64(acc[r * kTile + c], x);
          }
        }
      }
    }
  }
}

template <bool kXor, bool kBytes, bool kOne, bool kDp = false>
inline __attribute__((always_inline)) void tile_body(const uint64_t* const* a, const uint64_t* const* b, int ba, int bb, int64_t W,
                                                     const int64_t* wa, const int64_t* wb, int32_t* y, int64_t ldy) {
  __m512i acc[kTile * kTile];
#pragma GCC unroll 16
  for (int e = 0; e < kTile * kTile; ++e) acc[e] = _mm512_setzero_si512();
  int64_t w = 0;
  for (; w + 8 <= W; w += 8) chunk<kXor, kBytes, kOne, kDp, false>(a, b, ba, bb, W, w, 0xff, wa, wb, acc);
  // Masked loads read zeros past W: AND and XOR of two zeros count nothing.
  if (w < W) chunk<kXor, kBytes, kOne, kDp, true>(a, b, ba, bb, W, w, static_cast<__mmask8>((1u << (W - w)) - 1), wa, wb, acc);
  if (kDp) {  // int32 lanes: sign-extended pairs summed into int64 lanes first
#pragma GCC unroll 16
    for (int e = 0; e < kTile * kTile; ++e)
      acc[e] = _mm512_add_epi64(_mm512_srai_epi64(acc[e], 32), _mm512_srai_epi64(_mm512_slli_epi64(acc[e], 32), 32));
  }
  reduce16_store(acc, kOne && wa[0] * wb[0] < 0, y, ldy);
}

#define TK_BITMM_TILE(NAME, XOR, BYTES, ONE, ...)                                                                                \
  void NAME(const uint64_t* const* a, const uint64_t* const* b, int ba, int bb, int64_t W, const int64_t* wa, const int64_t* wb, \
            int32_t* y, int64_t ldy) {                                                                                           \
    tile_body<XOR, BYTES, ONE, ##__VA_ARGS__>(a, b, ba, bb, W, wa, wb, y, ldy);                                                  \
  }
TK_BITMM_TILE(q_and, false, false, false)
TK_BITMM_TILE(q_xor, true, false, false)
// The first chunk of a row of W words sets the 16 accumulators: first(w, mask) counts words
// [w, w + 8) under mask -- the K tail (masked loads: zeros past W count nothing), or the first full
// chunk (a masked chunk of no words would cost as much as a full one); W = 0 zeroes them. Returns the
// word the full chunks start at.
template <class First>
inline __attribute__((always_inline)) int64_t first_chunk(int64_t W, int64_t full, __m512i* acc, First&& first) {
  if (W & 7) {
    first(full, static_cast<__mmask8>((1u << (W & 7)) - 1));
    return 0;
  }
  if (W > 0) {
    first(0, 0xff);
    return 8;
  }
#pragma GCC unroll 16
  for (int e = 0; e < 16; ++e) acc[e] = _mm512_setzero_si512();
  return 0;
}

// One plane a side (W1A1), the VPOPCNTQ kernel written out: the first chunk sets the accumulators
// instead of adding to zeros, and the loop carries nothing else, so GCC keeps the 16 accumulators in
// place (the generic body above made it copy all 16 every step). Kernel alone, a 4-row a tile over a
// 64-row b panel at K = 4096, one thread: 19.6 against 23 cycles per 8-word chunk.
template <bool kXor>
inline __attribute__((always_inline)) void one_body(const uint64_t* const* a, const uint64_t* const* b, int64_t W, const int64_t* wa,
                                                    const int64_t* wb, int32_t* y, int64_t ldy) {
  const uint64_t *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *b0 = b[0], *b1 = b[1], *b2 = b[2], *b3 = b[3];
  __m512i acc[16];
  const int64_t full = W & ~int64_t(7);
  auto first = [&](int64_t w, __mmask8 m) {
    const __m512i v0 = _mm512_maskz_loadu_epi64(m, b0 + w), v1 = _mm512_maskz_loadu_epi64(m, b1 + w),
                  v2 = _mm512_maskz_loadu_epi64(m, b2 + w), v3 = _mm512_maskz_loadu_epi64(m, b3 + w);
    const uint64_t* ar[4] = {a0, a1, a2, a3};
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const __m512i av = _mm512_maskz_loadu_epi64(m, ar[r] + w);
      acc[4 * r + 0] = count<kXor, false>(av, v0);
      acc[4 * r + 1] = count<kXor, false>(av, v1);
      acc[4 * r + 2] = count<kXor, false>(av, v2);
      acc[4 * r + 3] = count<kXor, false>(av, v3);
    }
  };
  const int64_t w0 = first_chunk(W, full, acc, first);
  for (int64_t w = w0; w < full; w += 8) {
    const __m512i v0 = _mm512_loadu_si512(b0 + w), v1 = _mm512_loadu_si512(b1 + w), v2 = _mm512_loadu_si512(b2 + w),
                  v3 = _mm512_loadu_si512(b3 + w);
    const uint64_t* ar[4] = {a0, a1, a2, a3};
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      const __m512i av = _mm512_loadu_si512(ar[r] + w);
      acc[4 * r + 0] = _mm512_add_epi64(acc[4 * r + 0], count<kXor, false>(av, v0));
      acc[4 * r + 1] = _mm512_add_epi64(acc[4 * r + 1], count<kXor, false>(av, v1));
      acc[4 * r + 2] = _mm512_add_epi64(acc[4 * r + 2], count<kXor, false>(av, v2));
      acc[4 * r + 3] = _mm512_add_epi64(acc[4 * r + 3], count<kXor, false>(av, v3));
    }
  }
  reduce16_store(acc, wa[0] * wb[0] < 0, y, ldy);
}
void q_and1(const uint64_t* const* a, const uint64_t* const* b, int, int, int64_t W, const int64_t* wa, const int64_t* wb, int32_t* y,
            int64_t ldy) {
  one_body<false>(a, b, W, wa, wb, y, ldy);
}
void q_xor1(const uint64_t* const* a, const uint64_t* const* b, int, int, int64_t W, const int64_t* wa, const int64_t* wb, int32_t* y,
            int64_t ldy) {
  one_body<true>(a, b, W, wa, wb, y, ldy);
}
// Two planes a side (W2A2), written out like one_body: the 4 pair weights broadcast once, the plane
// loops unrolled. Kernel alone (a 4-row a tile over a 32-row b panel, K = 4096, one thread): 60 cycles
// per 8-word chunk of all 4 pairs against 84-92 for the generic VPDPBUSD body, 470 G MAC/s, where the
// int8 gemm op ran 375 (4096^3, one thread): so W2A2 takes this path, not the int8 route (bitmm_cpu.cc).
template <bool kXor, int BA, int BB>
inline __attribute__((always_inline)) void dp_body(const uint64_t* const* a, const uint64_t* const* b, int64_t W, const int64_t* wa,
                                                   const int64_t* wb, int32_t* y, int64_t ldy) {
  __m512i wv[BA][BB];
#pragma GCC unroll 4
  for (int i = 0; i < BA; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < BB; ++j) wv[i][j] = _mm512_set1_epi8(static_cast<char>(wa[i] * wb[j]));
  __m512i acc[16];
#pragma GCC unroll 16
  for (int e = 0; e < 16; ++e) acc[e] = _mm512_setzero_si512();
  auto step = [&](int64_t w, __mmask8 m, bool masked) {
#pragma GCC unroll 4
    for (int j = 0; j < BB; ++j) {
      __m512i bv[4];
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) bv[c] = masked ? _mm512_maskz_loadu_epi64(m, b[c] + j * W + w) : _mm512_loadu_si512(b[c] + j * W + w);
#pragma GCC unroll 4
      for (int i = 0; i < BA; ++i) {
#pragma GCC unroll 4
        for (int r = 0; r < 4; ++r) {
          const __m512i av = masked ? _mm512_maskz_loadu_epi64(m, a[r] + i * W + w) : _mm512_loadu_si512(a[r] + i * W + w);
#pragma GCC unroll 4
          for (int c = 0; c < 4; ++c) {
            const __m512i v = kXor ? _mm512_xor_si512(av, bv[c]) : _mm512_and_si512(av, bv[c]);
            acc[4 * r + c] = _mm512_dpbusd_epi32(acc[4 * r + c], _mm512_popcnt_epi8(v), wv[i][j]);
          }
        }
      }
    }
  };
  const int64_t full = W & ~int64_t(7);
  if (W & 7) step(full, static_cast<__mmask8>((1u << (W & 7)) - 1), true);
  for (int64_t w = 0; w < full; w += 8) step(w, 0xff, false);
#pragma GCC unroll 16
  for (int e = 0; e < 16; ++e)
    acc[e] = _mm512_add_epi64(_mm512_srai_epi64(acc[e], 32), _mm512_srai_epi64(_mm512_slli_epi64(acc[e], 32), 32));
  reduce16_store(acc, false, y, ldy);
}
void row_dp22_and(const uint64_t* const* a, const uint64_t* const* b, int64_t nt, int64_t W, const int64_t* wa, const int64_t* wb,
                  int32_t* y, int64_t ldy) {
  for (int64_t t = 0; t < nt; ++t) dp_body<false, 2, 2>(a, b + kTile * t, W, wa, wb, y + kTile * t, ldy);
}
void row_dp22_xor(const uint64_t* const* a, const uint64_t* const* b, int64_t nt, int64_t W, const int64_t* wa, const int64_t* wb,
                  int32_t* y, int64_t ldy) {
  for (int64_t t = 0; t < nt; ++t) dp_body<true, 2, 2>(a, b + kTile * t, W, wa, wb, y + kTile * t, ldy);
}
// One plane a side, one row of a against 16 rows of b (4 tiles): for a tile row whose 4 rows are one
// (the driver repeats the last row of a past M: at M = 1 the 4 x 4 tile counted the same row 4 times).
// The 16 sums land in row 0 of the 4 tiles and are copied to rows 1..3 (the tile contract). M = 1,
// N = K = 4096, interleaved with int8 gemm (memory-bound): 0.6 -> 0.5 ms, 1.70-1.74x -> 1.95-2.00x.
template <bool kXor>
inline __attribute__((always_inline)) void one_row16(const uint64_t* a0, const uint64_t* const* b, int64_t W, bool negate, int32_t* y,
                                                     int64_t ldy) {
  __m512i acc[16];
  const int64_t full = W & ~int64_t(7);
  auto first = [&](int64_t w, __mmask8 m) {
    const __m512i av = _mm512_maskz_loadu_epi64(m, a0 + w);
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) acc[c] = count<kXor, false>(av, _mm512_maskz_loadu_epi64(m, b[c] + w));
  };
  const int64_t w0 = first_chunk(W, full, acc, first);
  for (int64_t w = w0; w < full; w += 8) {
    const __m512i av = _mm512_loadu_si512(a0 + w);
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) acc[c] = _mm512_add_epi64(acc[c], count<kXor, false>(av, _mm512_loadu_si512(b[c] + w)));
  }
  reduce16_store(acc, negate, y, kTile);  // acc[c] -> y[c]: 16 sums in a row
  const __m512i row = _mm512_loadu_si512(y);
  for (int r = 1; r < kTile; ++r) _mm512_storeu_si512(y + r * ldy, row);
}
template <bool kXor>
inline __attribute__((always_inline)) void row1(const uint64_t* const* a, const uint64_t* const* b, int64_t nt, int64_t W,
                                                const int64_t* wa, const int64_t* wb, int32_t* y, int64_t ldy) {
  int64_t t = 0;
  if (a[1] == a[0] && a[2] == a[0] && a[3] == a[0])
    for (; t + 4 <= nt; t += 4) one_row16<kXor>(a[0], b + kTile * t, W, wa[0] * wb[0] < 0, y + kTile * t, ldy);
  for (; t < nt; ++t) one_body<kXor>(a, b + kTile * t, W, wa, wb, y + kTile * t, ldy);
}
void row_and1(const uint64_t* const* a, const uint64_t* const* b, int64_t nt, int64_t W, const int64_t* wa, const int64_t* wb, int32_t* y,
              int64_t ldy) {
  row1<false>(a, b, nt, W, wa, wb, y, ldy);
}
void row_xor1(const uint64_t* const* a, const uint64_t* const* b, int64_t nt, int64_t W, const int64_t* wa, const int64_t* wb, int32_t* y,
              int64_t ldy) {
  row1<true>(a, b, nt, W, wa, wb, y, ldy);
}
TK_BITMM_TILE(b_and, false, true, false)
TK_BITMM_TILE(b_xor, true, true, false)
TK_BITMM_TILE(b_and1, false, true, true)
TK_BITMM_TILE(b_xor1, true, true, true)
TK_BITMM_TILE(d_and, false, true, false, true)
TK_BITMM_TILE(d_xor, true, true, false, true)
#undef TK_BITMM_TILE

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

void tile_q(const uint64_t* const* a, const uint64_t* const* b, int ba, int bb, int64_t W, const int64_t* wa, const int64_t* wb,
            bool xor_op, int32_t* y, int64_t ldy) {
  const bool one = ba == 1 && bb == 1;
  if (!one && ba + bb <= 8 && g_vnni)  // every pair weight fits a signed byte: VPDPBUSD weighs them
    return (xor_op ? d_xor : d_and)(a, b, ba, bb, W, wa, wb, y, ldy);
  (xor_op ? (one ? q_xor1 : q_xor) : (one ? q_and1 : q_and))(a, b, ba, bb, W, wa, wb, y, ldy);
}
void row_q(const uint64_t* const* a, const uint64_t* const* b, int64_t nt, int ba, int bb, int64_t W, const int64_t* wa, const int64_t* wb,
           bool xor_op, int32_t* y, int64_t ldy) {
  if (ba == 1 && bb == 1) return (xor_op ? row_xor1 : row_and1)(a, b, nt, W, wa, wb, y, ldy);
  if (ba == 2 && bb == 2 && g_vnni) return (xor_op ? row_dp22_xor : row_dp22_and)(a, b, nt, W, wa, wb, y, ldy);
  for (int64_t t = 0; t < nt; ++t) tile_q(a, b + kTile * t, ba, bb, W, wa, wb, xor_op, y + kTile * t, ldy);
}
void tile_b(const uint64_t* const* a, const uint64_t* const* b, int ba, int bb, int64_t W, const int64_t* wa, const int64_t* wb,
            bool xor_op, int32_t* y, int64_t ldy) {
  const bool one = ba == 1 && bb == 1;
  (xor_op ? (one ? b_xor1 : b_xor) : (one ? b_and1 : b_and))(a, b, ba, bb, W, wa, wb, y, ldy);
}

// The int8 route's unpacking (AVX-512 BW only, outside the region above): 64 elements per step, each
// plane word a byte mask adding its weight (VPADDB under the mask), one 64-byte store. It replaced a
// byte table per 8 elements whose cost was most of the int8 route's lead over plain gemm (docs/bitmm.md).
void unpack(const uint64_t* planes, int bits, int64_t W, int64_t K, const int8_t* wt, int8_t cst, int8_t* out) {
  __m512i wv[8];
  for (int i = 0; i < bits; ++i) wv[i] = _mm512_set1_epi8(wt[i]);
  const __m512i c = _mm512_set1_epi8(cst);
  for (int64_t w = 0; w < W; ++w) {
    __m512i v = c;
    for (int i = 0; i < bits; ++i) v = _mm512_mask_add_epi8(v, static_cast<__mmask64>(planes[i * W + w]), v, wv[i]);
    const int64_t k0 = w * 64;
    if (K - k0 >= 64)
      _mm512_storeu_si512(out + k0, v);
    else
      _mm512_mask_storeu_epi8(out + k0, ~uint64_t(0) >> (64 - (K - k0)), v);
  }
}

}  // namespace

bool get_kernels_avx512(Kernels* k, bool bytewise) {
  k->unpack = unpack;  // BW: every CPU the avx512 table is built for (cpu_features.cc)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512vpopcntdq") || !__builtin_cpu_supports("avx512bitalg")) return false;
  if (bytewise) {
    k->name = "avx512-vpopcntb";
    k->tile = tile_b;
    return true;
  }
  g_vnni = __builtin_cpu_supports("avx512vnni");
  k->planes_w2a2 = g_vnni;
  k->name = "avx512-vpopcntq";
  k->tile = tile_q;
  k->row = row_q;
  return true;
}

}  // namespace tk::bitmm_kernels
