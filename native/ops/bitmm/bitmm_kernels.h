// The CPU kernels of bitmm, one table per ISA family (bitmm_cpu_<isa>.cc fill them; bitmm_cpu.cc
// drives them). A kernel counts one 4 x 4 tile of plane-pair popcounts over W 64-bit words:
//   P[r * 4 + c] = sum_{w < W} popcount(op(a[r][w], b[c][w]))   op = AND, or XOR when `xor_op`
// a[r] / b[c] point at one plane row each (rows past the matrix edge repeat the last row; the driver
// drops their results).
#pragma once
#include <cstdint>

namespace tk::bitmm_kernels {

constexpr int kTile = 4;

using TileFn = void (*)(const uint64_t* const* a, const uint64_t* const* b, int64_t W, bool xor_op, int64_t* P);

struct Kernels {
  const char* name = "";
  TileFn tile = nullptr;
};

// The paths a test or bench may force (bitmm_set_path("cpu", ...)): "auto" picks the best the CPU has.
void get_kernels_scalar(Kernels* k);
void get_kernels_avx2(Kernels* k);                  // vpshufb nibble-LUT popcount
bool get_kernels_avx512(Kernels* k, bool bytewise);  // VPOPCNTQ (or VPOPCNTB + VPSADBW); false without the ISA
void get_kernels_neon(Kernels* k);                  // vcnt + pairwise widening adds

}  // namespace tk::bitmm_kernels
