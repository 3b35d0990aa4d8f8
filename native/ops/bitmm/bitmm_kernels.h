// The CPU kernels of bitmm, one table per ISA family (bitmm_cpu_<isa>.cc fill them; bitmm_cpu.cc
// drives them). A kernel computes one 4 x 4 tile of weighted plane-pair popcounts over W 64-bit words:
//   S[r][c] = sum_{i < ba} sum_{j < bb} wa[i] wb[j] sum_{w < W} popcount(op(a[r][i W + w], b[c][j W + w]))
// with op = AND, or XOR when `xor_op`; the weights are +-2^i. S is stored modulo 2^32 as int32 at
// y[r * ldy + c] (exact where it matters: the driver turns S into the product, which fits int32).
// a[r] / b[c] point at a row's first plane (rows past the matrix edge repeat the last row; the driver
// drops their results).
#pragma once
#include <cstdint>

namespace tk::bitmm_kernels {

constexpr int kTile = 4;

using TileFn = void (*)(const uint64_t* const* a, const uint64_t* const* b, int ba, int bb, int64_t W, const int64_t* wa, const int64_t* wb,
                        bool xor_op, int32_t* y, int64_t ldy);

// S from a kernel of one plane pair, pair(a planes, b planes, W, xor_op, P) -> P[16] unweighted.
template <class PairFn>
inline void weigh_pairs(PairFn pair, const uint64_t* const* a, const uint64_t* const* b, int ba, int bb, int64_t W, const int64_t* wa,
                        const int64_t* wb, bool xor_op, int32_t* y, int64_t ldy) {
  int64_t S[kTile * kTile] = {};
  const uint64_t* ap[kTile];
  const uint64_t* bp[kTile];
  int64_t P[kTile * kTile];
  for (int i = 0; i < ba; ++i) {
    for (int r = 0; r < kTile; ++r) ap[r] = a[r] + i * W;
    for (int j = 0; j < bb; ++j) {
      for (int c = 0; c < kTile; ++c) bp[c] = b[c] + j * W;
      pair(ap, bp, W, xor_op, P);
      const int64_t w = wa[i] * wb[j];
      for (int e = 0; e < kTile * kTile; ++e) S[e] += w * P[e];
    }
  }
  for (int r = 0; r < kTile; ++r)
    for (int c = 0; c < kTile; ++c) y[r * ldy + c] = int32_t(uint32_t(uint64_t(S[r * kTile + c])));
}

// One row of `bits` planes (W words each) -> its K int8 values, value = cst + sum_i wt[i] p_i modulo 256
// (exact: the driver takes this route only when every value fits int8).
using UnpackFn = void (*)(const uint64_t* planes, int bits, int64_t W, int64_t K, const int8_t* wt, int8_t cst, int8_t* out);

// `ntiles` tiles along b: tile t takes b[4 t .. 4 t + 3] and stores at y + 4 t (one call per tile row
// of a: the per-call set-up was 12 % of the AVX-512 kernel's time at K = 4096).
using RowFn = void (*)(const uint64_t* const* a, const uint64_t* const* b, int64_t ntiles, int ba, int bb, int64_t W, const int64_t* wa,
                       const int64_t* wb, bool xor_op, int32_t* y, int64_t ldy);

struct Kernels {
  const char* name = "";
  TileFn tile = nullptr;
  RowFn row = nullptr;        // null: the driver calls `tile` per tile
  bool planes_w2a2 = false;   // W2A2 by plane pairs beats the int8 route (a dedicated kernel)
  UnpackFn unpack = nullptr;  // the int8 route's unpacking; null: the driver's portable one
};

// The paths a test or bench may force (bitmm_set_path("cpu", ...)): "auto" picks the best the CPU has.
void get_kernels_scalar(Kernels* k);
void get_kernels_avx2(Kernels* k);                   // vpshufb nibble-LUT popcount
bool get_kernels_avx512(Kernels* k, bool bytewise);  // VPOPCNTQ (or VPOPCNTB + VPSADBW); false without the ISA
void get_kernels_neon(Kernels* k);                   // vcnt + pairwise widening adds

}  // namespace tk::bitmm_kernels
