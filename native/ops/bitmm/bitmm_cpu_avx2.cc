// bitmm's AVX2 kernel: AND / XOR of 256-bit plane chunks, counted by the nibble table (vpshufb on the
// low and high nibbles, 0..4 each) and summed per 64-bit lane by vpsadbw. The 4 x 4 tile runs as two
// 2 x 4 halves (8 accumulators: the 16 ymm registers hold no more with the table and the operands).
#include <immintrin.h>

#include "bitmm_kernels.h"

namespace tk::bitmm_kernels {
namespace {

template <bool kXor>
inline __attribute__((always_inline)) __m256i count(__m256i x, __m256i y, __m256i lut, __m256i low) {
  const __m256i v = kXor ? _mm256_xor_si256(x, y) : _mm256_and_si256(x, y);
  const __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(v, low));
  const __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
  return _mm256_sad_epu8(_mm256_add_epi8(lo, hi), _mm256_setzero_si256());
}

template <bool kXor>
void half_tile(const uint64_t* const* a, const uint64_t* const* b, int64_t W, int64_t* P) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i acc[2 * kTile];
#pragma GCC unroll 8
  for (int i = 0; i < 2 * kTile; ++i) acc[i] = _mm256_setzero_si256();
  int64_t w = 0;
  for (; w + 4 <= W; w += 4) {
    const __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[0] + w));
    const __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[1] + w));
#pragma GCC unroll 4
    for (int c = 0; c < kTile; ++c) {
      const __m256i bv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[c] + w));
      acc[c] = _mm256_add_epi64(acc[c], count<kXor>(a0, bv, lut, low));
      acc[kTile + c] = _mm256_add_epi64(acc[kTile + c], count<kXor>(a1, bv, lut, low));
    }
  }
  int64_t tail[2 * kTile] = {};
  for (; w < W; ++w)
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < kTile; ++c) tail[r * kTile + c] += __builtin_popcountll(kXor ? (a[r][w] ^ b[c][w]) : (a[r][w] & b[c][w]));
  for (int i = 0; i < 2 * kTile; ++i) {
    alignas(32) int64_t l[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(l), acc[i]);
    P[i] = l[0] + l[1] + l[2] + l[3] + tail[i];
  }
}

void pair(const uint64_t* const* a, const uint64_t* const* b, int64_t W, bool xor_op, int64_t* P) {
  if (xor_op) {
    half_tile<true>(a, b, W, P);
    half_tile<true>(a + 2, b, W, P + 2 * kTile);
  } else {
    half_tile<false>(a, b, W, P);
    half_tile<false>(a + 2, b, W, P + 2 * kTile);
  }
}

void tile(const uint64_t* const* a, const uint64_t* const* b, int ba, int bb, int64_t W, const int64_t* wa, const int64_t* wb, bool xor_op,
          int32_t* y, int64_t ldy) {
  weigh_pairs(pair, a, b, ba, bb, W, wa, wb, xor_op, y, ldy);
}

}  // namespace

void get_kernels_avx2(Kernels* k) {
  k->name = "avx2-nibble-lut";
  k->tile = tile;
}

}  // namespace tk::bitmm_kernels
