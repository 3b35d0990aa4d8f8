// bitmm's portable kernel: __builtin_popcountll per 64-bit word (POPCNT where the compiler may use it).
#include "bitmm_kernels.h"

namespace tk::bitmm_kernels {
namespace {

template <bool kXor>
void tile_scalar(const uint64_t* const* a, const uint64_t* const* b, int64_t W, int64_t* P) {
  int64_t acc[kTile * kTile] = {};
  for (int64_t w = 0; w < W; ++w) {
    for (int r = 0; r < kTile; ++r) {
      const uint64_t x = a[r][w];
      for (int c = 0; c < kTile; ++c) acc[r * kTile + c] += __builtin_popcountll(kXor ? (x ^ b[c][w]) : (x & b[c][w]));
    }
  }
  for (int i = 0; i < kTile * kTile; ++i) P[i] = acc[i];
}

void pair(const uint64_t* const* a, const uint64_t* const* b, int64_t W, bool xor_op, int64_t* P) {
  if (xor_op)
    tile_scalar<true>(a, b, W, P);
  else
    tile_scalar<false>(a, b, W, P);
}

void tile(const uint64_t* const* a, const uint64_t* const* b, int ba, int bb, int64_t W, const int64_t* wa, const int64_t* wb, bool xor_op,
          int32_t* y, int64_t ldy) {
  weigh_pairs(pair, a, b, ba, bb, W, wa, wb, xor_op, y, ldy);
}

}  // namespace

void get_kernels_scalar(Kernels* k) {
  k->name = "scalar-popcount";
  k->tile = tile;
}

}  // namespace tk::bitmm_kernels
