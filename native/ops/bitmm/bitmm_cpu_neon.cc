// bitmm's NEON kernel: AND / XOR of 128-bit plane chunks, counted per byte by vcnt and summed into
// 16-bit lanes by vpadal (at most 16 per lane per chunk: flushed into 64-bit sums every 2048 chunks).
#include <arm_neon.h>

#include "bitmm_kernels.h"

namespace tk::bitmm_kernels {
namespace {

template <bool kXor>
void tile_neon(const uint64_t* const* a, const uint64_t* const* b, int64_t W, int64_t* P) {
  int64_t sums[kTile * kTile] = {};
  int64_t w = 0;
  while (w + 2 <= W) {
    const int64_t end = w + 2 * 2048 < W ? w + 2 * 2048 : W;
    uint16x8_t acc[kTile * kTile];
    for (int i = 0; i < kTile * kTile; ++i) acc[i] = vdupq_n_u16(0);
    for (; w + 2 <= end; w += 2) {
      uint8x16_t bv[kTile];
      for (int c = 0; c < kTile; ++c) bv[c] = vreinterpretq_u8_u64(vld1q_u64(b[c] + w));
      for (int r = 0; r < kTile; ++r) {
        const uint8x16_t av = vreinterpretq_u8_u64(vld1q_u64(a[r] + w));
        for (int c = 0; c < kTile; ++c) {
          const uint8x16_t v = kXor ? veorq_u8(av, bv[c]) : vandq_u8(av, bv[c]);
          acc[r * kTile + c] = vpadalq_u8(acc[r * kTile + c], vcntq_u8(v));
        }
      }
    }
    for (int i = 0; i < kTile * kTile; ++i) sums[i] += int64_t(vaddlvq_u16(acc[i]));
  }
  for (; w < W; ++w)
    for (int r = 0; r < kTile; ++r)
      for (int c = 0; c < kTile; ++c) sums[r * kTile + c] += __builtin_popcountll(kXor ? (a[r][w] ^ b[c][w]) : (a[r][w] & b[c][w]));
  for (int i = 0; i < kTile * kTile; ++i) P[i] = sums[i];
}

void pair(const uint64_t* const* a, const uint64_t* const* b, int64_t W, bool xor_op, int64_t* P) {
  if (xor_op)
    tile_neon<true>(a, b, W, P);
  else
    tile_neon<false>(a, b, W, P);
}

void tile(const uint64_t* const* a, const uint64_t* const* b, int ba, int bb, int64_t W, const int64_t* wa, const int64_t* wb, bool xor_op,
          int32_t* y, int64_t ldy) {
  weigh_pairs(pair, a, b, ba, bb, W, wa, wb, xor_op, y, ldy);
}

}  // namespace

void get_kernels_neon(Kernels* k) {
  k->name = "neon-vcnt";
  k->tile = tile;
}

}  // namespace tk::bitmm_kernels
