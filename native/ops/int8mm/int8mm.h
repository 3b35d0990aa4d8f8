// int8mm: LLM.int8()-style W8A8 matmul, Y[M,N] = X[M,K] . W[N,K]^T with W quantized per output
// channel at int8 ahead (lib/quant/int8-weights.ts) and X quantized per token inside the call.
// The contract (what every backend computes):
//   Quantizer (w4a4.h's, bits 8): s = max|v| / 127 in float32, q = clamp(round_half_even(v / s),
//   -127, 127); a zero row has s = 0 and q = 0; a row holding NaN or Inf has s = NaN.
//   Outlier columns O = { k : |x[m,k]| >= threshold for some row m of the call } (NaN never counts;
//   threshold = +Inf: O is empty). The other columns form x' (x with O zeroed):
//     s_x[m] = max_k |x'[m,k]| / 127, q_x = quantized x' (O's entries are 0)
//     acc[m,n] = sum_k q_x[m,k] * q_w[n,k]                       exact, int32 (|acc| <= 127^2 K)
//     o[m,n]   = sum_{j in O} x[m,j] * fround(q_w[n,j] * s_w[n])  float32 sum (gemm's order)
//     y[m,n]   = fround(fround(s_x[m] * s_w[n]) * fround(acc)) + o[m,n]
//   out[m,n] = alpha * y + bias[n] + beta * c[m,n]   (MatmulEpilogue, float32, left to right)
// Exact: acc. Rounded: the two quantizers (|x - s q| <= s / 2 per element), fround(acc) when
// |acc| > 2^24, the scale products, the outlier part's float32 sum (relative error <= |O| eps per
// term) and the epilogue.
#pragma once
#include <cstdint>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"
#include "../quant_common/matmul_epilogue.h"

namespace tk {

struct Int8MmParams {
  TensorView x;       // float32 [M, K]
  TensorView w;       // int8 [N, K]
  TensorView scales;  // float32 [N]
  // Optional (ndim -1): w packed ahead by gemm_pack_b (trans_b) in `packed_layout`; a stale packing
  // costs speed, never correctness (gemm.h).
  TensorView packed = [] {
    TensorView t;
    t.ndim = -1;
    return t;
  }();
  std::string packed_layout;
  float threshold = 6.0f;  // > 0; +Inf turns the decomposition off
  TensorView out;          // float32 [M, N]
  TensorView bias, c;      // optional (ndim -1): float32 [N], float32 [M, N] (c may be out)
  float alpha = 1.0f, beta = 0.0f;
};

struct Int8MmShape {
  int64_t M = 0, N = 0, K = 0;
  MatmulEpilogue epi;
};

Status int8mm_validate(const Int8MmParams& p, Int8MmShape* s);
Status int8mm(const Int8MmParams& p, const Int8MmShape& s);
Status int8mm_cpu(const Int8MmParams& p, const Int8MmShape& s);
// The kernel int8mm_cpu last ran ("" before any): the name of the gemm int8 kernel it ran on.
const char* int8mm_cpu_last_kernel();
// Every tensor on CUDA device `device` (int8mm_cuda.cu; the CPU-only build answers ERR_TK_NO_GPU).
// Opt-in until it has run on a GPU: TENSORKERN_INT8MM_KERNEL=tc, or the hook below with path 'tc'.
Status int8mm_cuda(const Int8MmParams& p, const Int8MmShape& s, int device);
std::string int8mm_cuda_last_kernel();
bool int8mm_cuda_enabled();
// Test / bench hooks (native/core/op_hooks.h): "auto" on the CPU; "auto" (off) or "tc" on CUDA.
Status int8mm_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use);
std::string int8mm_last_kernel(const std::string& device);

}  // namespace tk
