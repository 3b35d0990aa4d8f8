// w4a4_simt: the exact integer SIMT fallback of the CUDA W4A4 path (see w4a4_kernel_common.cuh).
#pragma once
#include <cfloat>
#include <cstdint>

#include "w4a4_kernel_common.cuh"

namespace tk::cuw4a4 {

// ---- exact SIMT fallback -------------------------------------------------------------------------------
// One warp per output element: lanes split each group's weight bytes, the group's int32 sum is
// reduced exactly (xor shuffles), lane 0 folds it with the group's scale. Any even group size and K,
// both activation widths, every arch.
__global__ void __launch_bounds__(kGridThreads) w4a4_simt(GemmArgs p, int bits) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t o = blockIdx.x * int64_t(blockDim.x >> 5) + (threadIdx.x >> 5); o < p.M * p.N; o += warps) {
    const int64_t m = o / p.N, n = o % p.N;
    const uint8_t* wr = p.w + n * p.ldw;
    const uint8_t* xr = p.qa + m * p.lda;
    float facc = 0.0f;
    for (int64_t g = 0; g < p.G; ++g) {
      int32_t acc = 0;
      for (int64_t j = g * p.gs / 2 + lane; j < (g + 1) * p.gs / 2; j += 32) {
        const int32_t b = wr[j];
        const int32_t w0 = ((b & 15) ^ 8) - 8, w1 = ((b >> 4) ^ 8) - 8;
        int32_t x0, x1;
        if (bits == 4) {
          const int32_t xb = xr[j];
          x0 = ((xb & 15) ^ 8) - 8, x1 = ((xb >> 4) ^ 8) - 8;
        } else {
          x0 = static_cast<int8_t>(xr[act8_pos(2 * j)]), x1 = static_cast<int8_t>(xr[act8_pos(2 * j + 1)]);
        }
        acc += w0 * x0 + w1 * x1;
      }
      for (int s = 16; s > 0; s >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, s);
      facc = __fmaf_rn(p.ws[n * p.G + g], float(acc), facc);
    }
    if (lane == 0) epilogue(p, m, n, facc);
  }
}

}  // namespace tk::cuw4a4
