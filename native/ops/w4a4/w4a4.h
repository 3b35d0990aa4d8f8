// w4a4: Y[M,N] = X[M,K] . W[N,K]^T with W in 4 bits (docs/design.md, Data conventions nibble order) and X quantized per
// token on the fly (4 or 8 bits), exact integer accumulation, scales in the epilogue. Also the
// weight-only form (float X times dequantized 4-bit W). The contract (what every backend computes):
//   s = max|v| / qmax in float32 (qmax 7 for 4 bits, 127 for 8), q = clamp(round_half_even(v / s)),
//   a zero row has s = 0 and q = 0, a row holding NaN or Inf has s = NaN (its outputs are NaN).
//   Y[m,n] = s_x[m] * sum_g s_w[n,g] * sum_{k in g} q_x[m,k] * q_w[n,k]
//          + s_o[m] * s_wo[n] * sum_j q_o[m,j] * q_wo[n,j]      (outlier channels, int8 x int8)
//   out[m,n] = alpha * Y[m,n] + bias[n] + beta * c[m,n]   (the shared epilogue, ../quant_common/matmul_epilogue.h)
// Outlier channels are zeroed in X before its 4-bit quantization (their weights were zeroed in W at
// quantize time), and quantized separately at int8 (s_o = max|x[m, O]| / 127). With rotation, X's
// rows (outliers zeroed) go through the block Hadamard transform of lib/quant/hadamard.ts first: the
// float32 butterflies h = 1, 2, 4, ... (a + b, a - b), then a multiply by fround(1 / sqrt(block)).
#pragma once
#include <cstdint>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"
#include "../quant_common/matmul_epilogue.h"

namespace tk {

struct W4A4Params {
  TensorView x;  // [M, K] float32, or int8 q values already quantized when x_scales is given
  // optional float32 [M] (absent: ndim -1): x holds quantizeActivationsInt4's q (rotated when w is)
  TensorView x_scales = [] {
    TensorView t;
    t.ndim = -1;
    return t;
  }();
  TensorView w;               // int4 [N, K]: packed nibbles, row-major
  TensorView scales;          // float32 [N, G] (G = K / group_size; 1 = per channel)
  TensorView zero_points;     // optional int8 [N, G]: w = (q - z) * s (imported asymmetric weights; weight-only)
  TensorView outlier_idx;     // optional int32 [nO]: channels of K kept at int8
  TensorView outlier_w;       // optional int8 [N, nO]
  TensorView outlier_scales;  // optional float32 [N]
  TensorView bias;            // optional float32 [N]
  TensorView c = [] {         // optional float32 [M, N] (may be out itself), read when beta != 0
    TensorView t;
    t.ndim = -1;
    return t;
  }();
  float alpha = 1.0f, beta = 0.0f;
  TensorView out;            // float32 [M, N]
  int64_t group_size = 0;    // divides K; K = per channel
  int64_t rotate_block = 0;  // 0: none, else a power of two dividing group_size
  int act_bits = 4;          // 4, 8, or 0 = weight-only (X stays float)
};

struct W4A4Shape {
  int64_t M = 0, N = 0, K = 0, G = 0, nO = 0;
  MatmulEpilogue epi;  // alpha, bias, beta * c: every kernel applies it to every element
};

Status w4a4_validate(const W4A4Params& p, W4A4Shape* s);
Status w4a4(const W4A4Params& p);
Status w4a4_cpu(const W4A4Params& p, const W4A4Shape& s);
// The plain loop (untiled, scalar): the bench's own baseline and an independent cross-check.
Status w4a4_plain(const W4A4Params& p, const W4A4Shape& s);
// The kernel w4a4_cpu last ran ("" before any).
const char* w4a4_cpu_last_kernel();
// The CPU route for per-channel calls: "auto", "tiles" (the W4A4 tile kernels) or "gemm" (gemm's int8
// kernels, w4a4_cpu_gemm.cc); false for an unknown name.
bool w4a4_cpu_set_route(const std::string& path);
// The test and bench hooks (native/core/op_hooks.h): "auto" | "tiles" | "gemm" on the CPU, "auto" | "s4" | "int8" |
// "simt" on CUDA (splits 0).
Status w4a4_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use);
std::string w4a4_last_kernel(const std::string& device);

// The CUDA path (w4a4_cuda.cu; a NoGpu stub without CUDA): x and every tensor on device `dev`.
Status w4a4_cuda(const W4A4Params& p, const W4A4Shape& s, int dev);
// Test / bench hooks: force the kernel ("auto", "s4", "int8", "simt"; false for an unknown name) and
// the name of the kernel the last CUDA call ran.
bool w4a4_cuda_set_path(const char* path);
std::string w4a4_cuda_last_kernel();

// Per-token quantization alone (quantizeActivationsInt4, and the per-channel gemm route): q [M, K]
// int8 values, scales [M]; with nO outlier channels oidx, also their int8 values qo [M, nO] and
// scales so [M] (the channels zeroed before the row's own quantization).
Status w4a4_quantize_rows(const TensorView& x, int bits, int64_t rotate_block, int8_t* q, float* scales, const int32_t* oidx = nullptr,
                          int64_t nO = 0, int8_t* qo = nullptr, float* so = nullptr);

}  // namespace tk
