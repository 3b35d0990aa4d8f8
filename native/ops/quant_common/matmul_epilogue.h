// The epilogue every quantized matmul (w4a4 / w4a8 / int4Matmul, int8Matmul, lutMatmul, bitMatmul)
// shares with gemm:  out[m, n] = alpha * y[m, n] + bias[n] + beta * c[m, n]
// where y is the op's scaled result. Evaluated in float32, left to right; c is read only when
// beta != 0 (BLAS's rule: beta = 0 ignores c, NaN included). c has out's shape and may be out
// itself (an in-place residual add): each element is read before it is written, by the same thread.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

#if defined(__CUDACC__)
#define TK_EPI_HD __host__ __device__
#else
#define TK_EPI_HD
#endif

namespace tk {

// Plain data: CUDA kernels take it by value (bias and c then point to device memory).
struct MatmulEpilogue {
  float alpha = 1.0f, beta = 0.0f;
  const float* bias = nullptr;  // [N] or null
  const float* c = nullptr;     // [rows, N] row-major, or null (also null when beta == 0)
  int64_t N = 0;                // row length of out and c

  TK_EPI_HD bool trivial() const { return alpha == 1.0f && bias == nullptr && c == nullptr; }
  // One element: y is the op's result for (m, n).
  TK_EPI_HD float operator()(int64_t m, int64_t n, float y) const {
#if defined(__CUDA_ARCH__)
    // Rounded as the CPU rounds it (no FMA contraction).
    float v = alpha == 1.0f ? y : __fmul_rn(alpha, y);
    if (bias) v = __fadd_rn(v, bias[n]);
    if (c) v = __fadd_rn(v, __fmul_rn(beta, c[m * N + n]));
#else
    float v = alpha == 1.0f ? y : alpha * y;
    if (bias) v += bias[n];
    if (c) v += beta * c[m * N + n];
#endif
    return v;
  }
  // A row span in place: row[n - n0] holds y for n in [n0, n1) and receives out.
  TK_EPI_HD void apply_row(int64_t m, int64_t n0, int64_t n1, float* row) const {
    if (trivial()) return;
    for (int64_t n = n0; n < n1; n++) row[n - n0] = (*this)(m, n, row[n - n0]);
  }
};

// The int8 CPU routes' gemm on_done work (int8mm, w4a4 per channel): for a finished region of the
// int32 product acc [*, N] (rows [i0, i0 + rows), columns [j0, j0 + cols)), each row in chunks of
// 256 columns: fill(m, n0, len, acc + m * N + n0, y) writes the op's float y, then the epilogue, then
// out. acc is read before out is written (they may be the same memory).
template <class Fill>
inline void finish_int32_region(const int32_t* acc, float* out, int64_t N, const MatmulEpilogue& epi, int64_t i0, int64_t j0, int64_t rows,
                                int64_t cols, const Fill& fill) {
  constexpr int64_t kChunk = 256;
  alignas(64) float y[kChunk];
  for (int64_t m = i0; m < i0 + rows; ++m) {
    for (int64_t n0 = j0; n0 < j0 + cols; n0 += kChunk) {
      const int64_t len = j0 + cols - n0 < kChunk ? j0 + cols - n0 : kChunk;
      fill(m, n0, len, acc + m * N + n0, y);
      epi.apply_row(m, n0, n0 + len, y);
      std::memcpy(out + m * N + n0, y, size_t(len) * sizeof(float));
    }
  }
}

// Builds the epilogue from the op's optional tensors (ndim -1 = absent) and checks them against out
// [rows, N] (float32, contiguous): bias float32 [N], c float32 with out's element count, on out's
// device. `op` names the op in messages.
inline Status make_matmul_epilogue(const char* op, const TensorView& out, const TensorView& bias, const TensorView& c, float alpha,
                                   float beta, MatmulEpilogue* e) {
  const int64_t N = out.ndim >= 1 ? out.shape[out.ndim - 1] : 0;
  e->alpha = alpha;
  e->beta = beta;
  e->N = N;
  e->bias = nullptr;
  e->c = nullptr;
  if (present(bias)) {
    if (bias.dtype != DType::kFloat32 || bias.ndim != 1 || bias.shape[0] != N || !(bias.device == out.device))
      return InvalidArgument(std::string("Expected ") + op + " bias as a float32 [" + std::to_string(N) +
                             "] tensor on out's device but received " + shape_str(bias));
    e->bias = bias.as<float>();
  }
  if (present(c) && beta != 0.0f) {
    if (c.dtype != DType::kFloat32 || c.numel != out.numel || !(c.device == out.device))
      return InvalidArgument(std::string("Expected ") + op + " c as a float32 tensor of out's shape " + shape_str(out) + " but received " +
                             shape_str(c));
    e->c = c.as<float>();
  }
  return Status::Ok();
}

}  // namespace tk
