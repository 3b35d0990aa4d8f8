// Index math and per-element arithmetic of the CUDA int8mm kernels (int8mm_cuda.cu), as functions
// that compile for the host too: the kernels call them, and the native self-test
// (native/tests/int8mm_cuda_checks.h) emulates every kernel with them on the CPU.
//
// The pipeline on the GPU (one stream, workspace from the device pool):
//   scan     flag[k] = 1 where some |x[m, k]| >= threshold (skipped for threshold = +Inf);
//   compact  the outlier columns in increasing order, and their count (one thread);
//   quant    one CTA per row: s_x = max|x'| / 127 over the non-outlier columns, q_x = the contract
//            quantizer (w4a4.h at 8 bits), written as qa [M, Kp] int8 with K padded to kBK by zeros;
//   outliers only when some column is one (the count is copied back to plan it): o [M, N] =
//            sum over the outlier columns j, increasing, of x[m, j] * fround(q_w[n, j] s_w[n]), float32;
//   tc       the W8A8 product on int8 tensor cores (mma.sync.m16n8k32.s8, sm_80+; dp4a on sm_75),
//            CTA tile kBM x kBN, K in steps of kBK bytes through shared memory, then per element:
//            y = fround(s_x s_w) * fround(acc) (+ o), and the shared epilogue (alpha, bias, beta * c;
//            c may be out: read, then written, by the same thread).
// The fragments are gemm_cuda_layout.h's byte form (frag_a / frag_b / frag_c, checked by the gemm
// self-test against the PTX ISA tables).
#pragma once
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../gemm/gemm_cuda_layout.h"

namespace tk::cuint8mm {

using cugemm::RowCol;

constexpr int kBM = 64, kBN = 64, kBK = 32;  // CTA tile; one mma k-step (32 int8) per shared stage
constexpr int kThreads = 128;                // 4 warps as 2 x 2, each a 32 x 32 warp tile
constexpr int kWarpsM = 2, kWTM = 32, kWTN = 32;
constexpr int kMI = kWTM / 16, kNI = kWTN / 8;  // mma blocks per warp tile
constexpr int kRowBytes = kBK + 16;             // shared row stride: 48 bytes (staggers the banks)
constexpr int kQuantThreads = 256;              // threads per row of the quantize kernel

TK_HD constexpr int64_t padded_k(int64_t K) { return (K + kBK - 1) / kBK * kBK; }

// The 16 bytes thread `tid` copies into each of the A and B stage tiles (64 rows x 32 bytes).
TK_HD constexpr RowCol load_slot(int tid) { return {tid >> 1, 16 * (tid & 1)}; }
TK_HD constexpr int smem_at(int row, int byte) { return row * kRowBytes + byte; }
TK_HD constexpr RowCol warp_origin(int warp) { return {(warp % kWarpsM) * kWTM, (warp / kWarpsM) * kWTN}; }

// Row and column of accumulator element e of mma block (mi, ni) for `lane` of warp `warp`, in the tile.
TK_HD constexpr RowCol acc_at(int warp, int lane, int mi, int ni, int e) {
  return {warp_origin(warp).row + mi * 16 + cugemm::frag_c(lane, e).row, warp_origin(warp).col + ni * 8 + cugemm::frag_c(lane, e).col};
}

// ---- arithmetic (the same bits on host and device: IEEE div, add, mul, no contraction) ----------
TK_HD float fdiv(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
TK_HD float fmul(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
TK_HD float fadd(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
TK_HD uint32_t abs_bits(float v) {
  uint32_t b;
  memcpy(&b, &v, sizeof b);
  return b & 0x7fffffffu;
}
// The row scale from the largest |x| bit pattern (>= 0x7f800000: NaN or Inf in the row -> NaN).
TK_HD float row_scale(uint32_t max_bits) {
  if (max_bits >= 0x7f800000u) return NAN;
  float mx;
  memcpy(&mx, &max_bits, sizeof mx);
  return fdiv(mx, 127.0f);
}
// q for one element (s from row_scale): round half to even of x / s, clamped; 0 for a zero or NaN s.
TK_HD int8_t quant(float x, float s) {
  if (!(s != 0.0f) || s != s) return 0;
  const float magic = 12582912.0f;  // 1.5 * 2^23
  float t = fadd(fadd(fdiv(x, s), magic), -magic);
  t = t < -128.0f ? -128.0f : t > 127.0f ? 127.0f : t;
  return static_cast<int8_t>(static_cast<int32_t>(t));
}
// One term of the outlier part: acc + x * fround(q_w * s_w), each operation rounded.
TK_HD float outlier_step(float acc, float x, int8_t qw, float sw) { return fadd(acc, fmul(x, fmul(static_cast<float>(qw), sw))); }
// y before the outlier part and the epilogue.
TK_HD float scaled(float sx, float sw, int32_t acc) { return fmul(fmul(sx, sw), static_cast<float>(acc)); }

}  // namespace tk::cuint8mm
