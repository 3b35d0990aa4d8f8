// bitmm: the arbitrary-precision matmul of bit planes (APMM; docs/bitmm.md). a [M, K] and b [N, K] hold
// integers as `bits` planes each, packed along K into 64-bit words (int64 tensors [rows, bits, W], W =
// ceil(K / 64); bit k % 64 of word k / 64 is element k; pad bits are zero). A value is
//   uint:    sum_i 2^i p_i                      in [0, 2^b - 1]
//   int:     sum_{i<b-1} 2^i p_i - 2^(b-1) p_top in [-2^(b-1), 2^(b-1) - 1]   (two's complement)
//   bipolar: sum_i 2^i (2 p_i - 1)              odd integers in [-(2^b - 1), 2^b - 1] (1 bit: -1 / +1)
// y[m, n] = sum_k a[m, k] b[n, k] = sum_i sum_j wa_i wb_j D_ij, with D_ij the plane-pair dot:
//   popcount(a_i AND b_j) for two 0/1 planes, K - 2 popcount(a_i XOR b_j) for two bipolar planes, and
//   2 popcount(a_i AND b_j) - popcount(the 0/1 plane) for one of each. y is exact (64-bit sums, or modulo
//   2^32 where the true value fits) and stored as int32 (validate refuses sizes where |y| could pass 2^31 - 1).
// Integer form (no scales): out int32 [M, N] = y (+ c, beta 0 or 1, int32 with wrap-around as int8 gemm).
// Float form (either operand scaled, a missing scale counting as 1): out float32 [M, N] =
//   epilogue(fround(sa[m] * sb[n]) * float(y)) with the shared MatmulEpilogue (alpha, bias, beta * c).
#pragma once
#include <cstdint>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"
#include "../quant_common/matmul_epilogue.h"

namespace tk {

enum class BitFormat : int { kInt = 0, kUint = 1, kBipolar = 2 };

struct BitmmParams {
  TensorView a, b;                 // int64 [M, ba, W], [N, bb, W]
  int a_format = 0, b_format = 0;  // BitFormat
  int64_t K = 0;
  TensorView a_scales, b_scales;  // optional float32 [M], [N]
  TensorView out;                 // int32 or float32 [M, N]
  TensorView bias, c;             // optional: c int32 (integer form) or float32; bias float32 (float form)
  float alpha = 1.0f, beta = 0.0f;
};

struct BitmmShape {
  int64_t M = 0, N = 0, K = 0, W = 0;
  int ba = 0, bb = 0;
  bool float_out = false;
  MatmulEpilogue epi;  // float form
};

// The largest |value| of a format at `bits`.
inline int64_t bit_format_max_abs(int format, int bits) {
  return format == int(BitFormat::kInt) ? (int64_t(1) << (bits - 1)) : (int64_t(1) << bits) - 1;
}

Status bitmm_validate(const BitmmParams& p, BitmmShape* s);
Status bitmm(const BitmmParams& p);
Status bitmm_cpu(const BitmmParams& p, const BitmmShape& s);
const char* bitmm_cpu_last_kernel();
// "auto" (the best kernels the CPU has; several planes a side that fit int8 through the int8 gemm
// kernels, except W2A2 where a dedicated plane-pair kernel is faster), "vpopcntb" (AVX-512 BITALG:
// VPOPCNTB + VPSADBW, to measure), "planes" (the plane-pair kernels for every width, to test and
// measure) or "int8" (the int8 route wherever the values fit int8, W2A2 included: to test and measure).
bool bitmm_cpu_set_path(const std::string& path);
// Hooks (native/core/op_hooks.h): "auto" | "vpopcntb" | "planes" | "int8" on the CPU; "auto" | "tc" | "simt" on CUDA.
Status bitmm_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use);
std::string bitmm_last_kernel(const std::string& device);

// The CUDA path (bitmm_cuda.cu; a NoGpu stub without CUDA). Opt-in: TENSORKERN_BITMM_KERNEL=tc or simt
// (never run on a GPU yet); otherwise device operands are refused with a message saying so.
Status bitmm_cuda(const BitmmParams& p, const BitmmShape& s, int dev);
bool bitmm_cuda_set_path(const char* path);
std::string bitmm_cuda_last_kernel();

}  // namespace tk
