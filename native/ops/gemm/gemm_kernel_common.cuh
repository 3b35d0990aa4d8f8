// Device code shared by every CUDA GEMM path: the kernel arguments, the epilogue (alpha, beta * C,
// bias, conversion to the out dtype), the split-K reduction and the SIMT fallback kernel.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "../../core/dtype.h"
#include "gemm_configs.h"
#include "gemm_cuda_layout.h"

namespace tk::cugemm {

// Everything a kernel needs, by value (a kernel parameter). Element strides; batch strides of 0 mean
// a shared operand.
struct DevArgs {
  const void* a;
  const void* b;
  const void* c;     // null when absent or beta == 0
  const void* bias;  // null when absent
  void* out;
  void* ws;  // split-K partial sums [splits][batch][M][N] (float or int32), null without split-K
  int64_t M, N, K;
  int64_t lda, ldb;
  int64_t stride_a, stride_b, stride_c, stride_out;
  int batch;
  int c_dtype, bias_dtype, out_dtype;  // tk::DType codes
  float alpha, beta;
  int splits;       // K slices (1: no split-K; the kernel then runs the epilogue itself)
  int64_t k_chunk;  // K elements per slice, a multiple of the stage depth
  int tiles_m, tiles_n;
};

template <class T>
struct Elem;
template <>
struct Elem<__half> {
  using Acc = float;
  static constexpr int bytes = 2;
};
template <>
struct Elem<__nv_bfloat16> {
  using Acc = float;
  static constexpr int bytes = 2;
};
template <>
struct Elem<float> {
  using Acc = float;
  static constexpr int bytes = 4;
};
template <>
struct Elem<int8_t> {
  using Acc = int32_t;
  static constexpr int bytes = 1;
};

__device__ __forceinline__ float load_as_float(const void* p, int dtype, int64_t i) {
  switch (dtype) {
    case int(DType::kFloat16): return __half2float(static_cast<const __half*>(p)[i]);
    case int(DType::kBFloat16): return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    default: return static_cast<const float*>(p)[i];
  }
}

__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ int32_t to_float(int8_t v) { return v; }  // int8 accumulates in int32

// out[b, m, n] = alpha * acc + beta * C + bias, converted to the out dtype (float paths).
__device__ __forceinline__ void epilogue_store(const DevArgs& p, int b, int64_t m, int64_t n, float acc) {
  float v = p.alpha * acc;
  if (p.c) v += p.beta * load_as_float(p.c, p.c_dtype, b * p.stride_c + m * p.N + n);
  if (p.bias) v += load_as_float(p.bias, p.bias_dtype, n);
  const int64_t o = b * p.stride_out + m * p.N + n;
  switch (p.out_dtype) {
    case int(DType::kFloat16): static_cast<__half*>(p.out)[o] = __float2half_rn(v); break;
    case int(DType::kBFloat16): static_cast<__nv_bfloat16*>(p.out)[o] = __float2bfloat16_rn(v); break;
    default: static_cast<float*>(p.out)[o] = v; break;
  }
}
// int8 x int8: exact int32 (alpha is 1, beta 0 or 1: the contract lib/ops/gemm.ts checks).
__device__ __forceinline__ void epilogue_store(const DevArgs& p, int b, int64_t m, int64_t n, int32_t acc) {
  int32_t v = acc;
  if (p.c) v += static_cast<const int32_t*>(p.c)[b * p.stride_c + m * p.N + n];
  if (p.bias) v += static_cast<const int32_t*>(p.bias)[n];
  static_cast<int32_t*>(p.out)[b * p.stride_out + m * p.N + n] = v;
}

// One accumulator value: the epilogue, or the slice's partial sum when K is split.
template <class Acc>
__device__ __forceinline__ void finish(const DevArgs& p, int b, int slice, int64_t m, int64_t n, Acc acc) {
  if (m >= p.M || n >= p.N) return;
  if (p.splits > 1) {
    static_cast<Acc*>(p.ws)[((int64_t(slice) * p.batch + b) * p.M + m) * p.N + n] = acc;
  } else {
    epilogue_store(p, b, m, n, acc);
  }
}

// Split-K second pass: sums the slices in slice order (the same order every run: deterministic)
// and applies the epilogue.
template <class Acc>
__global__ void gemm_splitk_reduce(DevArgs p) {
  const int64_t total = int64_t(p.batch) * p.M * p.N;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    Acc s = 0;
    for (int k = 0; k < p.splits; ++k) s += static_cast<const Acc*>(p.ws)[k * total + i];
    const int b = int(i / (p.M * p.N));
    const int64_t r = i % (p.M * p.N);
    epilogue_store(p, b, r / p.N, r % p.N, s);
  }
}

// ---- SIMT fallback -------------------------------------------------------------------------------
// 64x64 output tile, K in steps of 16, 256 threads of 4x4 outputs; operands read element by element
// (any transpose, any alignment) and widened to the accumulator type in shared memory. fp32 FMA
// (exact int32 for int8). Used on sm_75, for float32 without tf32, and for leading dimensions the
// 16-byte cp.async path cannot take.
template <class T>
__global__ void __launch_bounds__(256) gemm_simt(DevArgs p, bool trans_a, bool trans_b) {
  using Acc = typename Elem<T>::Acc;
  constexpr int BM = 64, BN = 64, BK = 16;
  __shared__ Acc As[BK][BM + 4];  // (BK, BM) k-major rows: As[k][m]; +4 keeps float4-free rows apart
  __shared__ Acc Bs[BK][BN + 4];  // (BK, BN)
  const int tid = threadIdx.x;
  const RowCol t = raster(blockIdx.x, p.tiles_m, p.tiles_n, gemm_cuda_configs::kRasterGroupM);
  const int64_t m0 = int64_t(t.row) * BM, n0 = int64_t(t.col) * BN;
  const int slice = blockIdx.y;
  const int64_t k_begin = slice * p.k_chunk;
  const int64_t k_end = k_begin + p.k_chunk < p.K ? k_begin + p.k_chunk : p.K;
  const T* A = static_cast<const T*>(p.a);
  const T* B = static_cast<const T*>(p.b);
  const int tm = (tid % 16) * 4, tn = (tid / 16) * 4;
  for (int b = blockIdx.z; b < p.batch; b += gridDim.z) {
    const T* Ab = A + b * p.stride_a;
    const T* Bb = B + b * p.stride_b;
    Acc acc[4][4] = {};
    for (int64_t k0 = k_begin; k0 < k_end; k0 += BK) {
      for (int i = tid; i < BM * BK; i += 256) {
        const int kk = i % BK, mm = i / BK;  // consecutive threads walk k: coalesced for row-major A
        const int64_t m = m0 + mm, k = k0 + kk;
        const bool in = m < p.M && k < k_end;
        As[kk][mm] = in ? to_float(trans_a ? Ab[k * p.lda + m] : Ab[m * p.lda + k]) : Acc(0);
      }
      for (int i = tid; i < BN * BK; i += 256) {
        const int nn = i % BN, kk = i / BN;  // consecutive threads walk n: coalesced for row-major B
        const int64_t n = n0 + nn, k = k0 + kk;
        const bool in = n < p.N && k < k_end;
        Bs[kk][nn] = in ? to_float(trans_b ? Bb[n * p.ldb + k] : Bb[k * p.ldb + n]) : Acc(0);
      }
      __syncthreads();
#pragma unroll
      for (int kk = 0; kk < BK; ++kk) {
        Acc av[4], bv[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) av[i] = As[kk][tm + i];
#pragma unroll
        for (int j = 0; j < 4; ++j) bv[j] = Bs[kk][tn + j];
#pragma unroll
        for (int i = 0; i < 4; ++i)
#pragma unroll
          for (int j = 0; j < 4; ++j) acc[i][j] += av[i] * bv[j];
      }
      __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) finish(p, b, slice, m0 + tm + i, n0 + tn + j, acc[i][j]);
  }
}

}  // namespace tk::cugemm
