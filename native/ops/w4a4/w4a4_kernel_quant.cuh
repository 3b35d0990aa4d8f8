// quantize_rows: the fused per-token activation quantizer of the CUDA W4A4 path (see w4a4_kernel_common.cuh).
#pragma once
#include <cfloat>
#include <cstdint>

#include "../../cuda/sm80.cuh"
#include "w4a4_cuda_layout.h"

namespace tk::cuw4a4 {

// ---- the fused activation quantizer ---------------------------------------------------------------
struct QuantArgs {
  const float* x;  // [M, K]
  int64_t M, K;
  int64_t rb;           // rotation block, 0: none
  float rc;             // fround(1 / sqrt(rb)), computed on the host exactly as the CPU does
  const int32_t* oidx;  // [nO] or null
  int nO;
  int bits;     // 4 or 8
  uint8_t* qa;  // [M, lda] in the GEMM's layout
  int64_t lda;
  float* sx;   // [M]
  int8_t* qo;  // [M, nO]
  float* so;   // [M]
};

// kQuantThreads threads per row, kQuantChunk floats staged at a time (w4a4_configs.h).
struct MaxBad {
  float mx;
  int bad;
};

// Block-wide max and "any NaN / Inf" (max of non-negative floats is exact in any order).
__device__ __forceinline__ MaxBad block_maxbad(float mx, int bad, float* red_f, int* red_i) {
  for (int o = 16; o > 0; o >>= 1) {
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    bad |= __shfl_xor_sync(0xffffffffu, bad, o);
  }
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();  // red_* may still be read from a previous call
  if (lane == 0) red_f[warp] = mx, red_i[warp] = bad;
  __syncthreads();
  mx = 0.0f, bad = 0;
  for (int w = 0; w < kQuantThreads / 32; ++w) mx = fmaxf(mx, red_f[w]), bad |= red_i[w];
  return {mx, bad};
}

__device__ __forceinline__ float clampq(float q, float lo, float hi) { return q < lo ? lo : q > hi ? hi : q; }

// One CTA per row. Pass 1 stages the row chunk by chunk (outliers zeroed, rotated) for max |v|;
// pass 2 rebuilds each chunk (the same operations, the same bits) and quantizes it. A row that fits
// one chunk is built once.
__global__ void __launch_bounds__(kQuantThreads) quantize_rows(QuantArgs a) {
  __shared__ float buf[kQuantChunk];
  __shared__ float red_f[kQuantThreads / 32];
  __shared__ int red_i[kQuantThreads / 32];
  const int64_t m = blockIdx.x;
  const int tid = threadIdx.x;
  const float* xr = a.x + m * a.K;

  if (a.nO > 0) {  // outlier channels at int8 from the original values
    float mo = 0.0f;
    int bad = 0;
    for (int j = tid; j < a.nO; j += kQuantThreads) {
      const float v = fabsf(xr[a.oidx[j]]);
      bad |= !(v <= FLT_MAX);
      mo = v > mo ? v : mo;
    }
    const MaxBad r = block_maxbad(mo, bad, red_f, red_i);
    const float so = r.bad ? __int_as_float(0x7fc00000) : __fdiv_rn(r.mx, 127.0f);
    if (tid == 0) a.so[m] = so;
    for (int j = tid; j < a.nO; j += kQuantThreads) {
      const float q = (r.bad || so == 0.0f) ? 0.0f : rintf(__fdiv_rn(xr[a.oidx[j]], so));
      a.qo[m * a.nO + j] = static_cast<int8_t>(clampq(q, -128.0f, 127.0f));
    }
  }

  auto build = [&](int64_t c0, int len) {
    __syncthreads();  // buf is free
    for (int i = tid; i < len; i += kQuantThreads) buf[i] = xr[c0 + i];
    __syncthreads();
    for (int j = tid; j < a.nO; j += kQuantThreads) {
      const int64_t k = a.oidx[j];
      if (k >= c0 && k < c0 + len) buf[k - c0] = 0.0f;
    }
    if (a.rb > 0) {
      __syncthreads();
      for (int h = 1; h < a.rb; h *= 2) {  // the contract's butterfly order: h = 1, 2, 4, ...
        for (int p = tid; p < len / 2; p += kQuantThreads) {
          const int j = (p / h) * 2 * h + p % h;
          const float u = buf[j], v = buf[j + h];
          buf[j] = __fadd_rn(u, v);
          buf[j + h] = __fsub_rn(u, v);
        }
        __syncthreads();
      }
      for (int i = tid; i < len; i += kQuantThreads) buf[i] = __fmul_rn(buf[i], a.rc);
    }
    __syncthreads();
  };

  const float qmax = a.bits == 8 ? 127.0f : 7.0f, qmin = a.bits == 8 ? -128.0f : -8.0f;
  float mx = 0.0f;
  int bad = 0;
  for (int64_t c0 = 0; c0 < a.K; c0 += kQuantChunk) {
    const int len = int(a.K - c0 < kQuantChunk ? a.K - c0 : kQuantChunk);
    build(c0, len);
    for (int i = tid; i < len; i += kQuantThreads) {
      const float v = fabsf(buf[i]);
      bad |= !(v <= FLT_MAX);
      mx = v > mx ? v : mx;
    }
  }
  const MaxBad r = block_maxbad(mx, bad, red_f, red_i);
  const float s = r.bad ? __int_as_float(0x7fc00000) : __fdiv_rn(r.mx, qmax);
  if (tid == 0) a.sx[m] = s;
  const bool zero = r.bad || s == 0.0f;
  uint8_t* qr = a.qa + m * a.lda;
  for (int64_t c0 = 0; c0 < a.K; c0 += kQuantChunk) {
    const int len = int(a.K - c0 < kQuantChunk ? a.K - c0 : kQuantChunk);
    if (c0 > 0 || a.K > kQuantChunk) build(c0, len);
    if (a.bits == 4) {
      for (int i = 2 * tid; i < len; i += 2 * kQuantThreads) {
        const int q0 = int(zero ? 0.0f : clampq(rintf(__fdiv_rn(buf[i], s)), qmin, qmax));
        const int q1 = int(zero ? 0.0f : clampq(rintf(__fdiv_rn(buf[i + 1], s)), qmin, qmax));
        qr[(c0 + i) >> 1] = static_cast<uint8_t>((q0 & 15) | ((q1 & 15) << 4));
      }
    } else {
      for (int i = tid; i < len; i += kQuantThreads) {
        const float q = zero ? 0.0f : clampq(rintf(__fdiv_rn(buf[i], s)), qmin, qmax);
        qr[act8_pos(c0 + i)] = static_cast<uint8_t>(static_cast<int8_t>(q));
      }
    }
  }
  // Zero padding up to whole stages: the bytes no k < K was written to (8-bit rows are permuted inside
  // each 32-k chunk, so a partial last chunk interleaves values and padding).
  if (a.bits == 4) {
    for (int64_t b = a.K / 2 + tid; b < a.lda; b += kQuantThreads) qr[b] = 0;
  } else {
    for (int64_t b = (a.K & ~int64_t(31)) + tid; b < a.lda; b += kQuantThreads)
      if (act8_k(b) >= a.K) qr[b] = 0;
  }
}

}  // namespace tk::cuw4a4
