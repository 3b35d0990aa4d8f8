// See gpu_attention_bench.h. The cuBLAS calls go through the GEMM bench's dlopen loader
// (cublas_gemm_batched in gpu_gemm_bench.cc).
#include "gpu_attention_bench.h"

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include "../cuda/check.h"
#include "../cuda/runtime.h"
#include "gpu_gemm_bench.h"

namespace tk::bench {
namespace {

// One block per row of S (rows ordered [b][hq][i], Sk columns, already scaled): P = softmax(S) in T,
// causal bottom-right (j <= i + Sk - Sq) by zeroing. A row with nothing visible gets zeros.
template <class T>
__global__ void softmax_rows(const float* S, T* P, int64_t rows, int64_t Sq, int64_t Sk, bool causal) {
  __shared__ float red[32];
  const int64_t r = blockIdx.x;
  if (r >= rows) return;
  const int64_t i = r % Sq;
  const int64_t end = causal ? (i + Sk - Sq + 1 < 0 ? 0 : i + Sk - Sq + 1 > Sk ? Sk : i + Sk - Sq + 1) : Sk;
  const float* s = S + r * Sk;
  T* p = P + r * Sk;
  auto block_reduce = [&](float v, bool is_max) {
    for (int o = 16; o > 0; o >>= 1) {
      const float w = __shfl_xor_sync(0xffffffffu, v, o);
      v = is_max ? fmaxf(v, w) : v + w;
    }
    __syncthreads();
    if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
    __syncthreads();
    v = threadIdx.x < blockDim.x / 32 ? red[threadIdx.x] : (is_max ? -INFINITY : 0.0f);
    for (int o = 16; o > 0; o >>= 1) {
      const float w = __shfl_xor_sync(0xffffffffu, v, o);
      v = is_max ? fmaxf(v, w) : v + w;
    }
    return v;
  };
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < end; j += blockDim.x) m = fmaxf(m, s[j]);
  m = block_reduce(m, true);
  float l = 0.0f;
  for (int64_t j = threadIdx.x; j < end; j += blockDim.x) l += __expf(s[j] - m);
  l = block_reduce(l, false);
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;
  for (int64_t j = threadIdx.x; j < Sk; j += blockDim.x) p[j] = T(j < end ? __expf(s[j] - m) * inv : 0.0f);
}

struct Buffers {
  int device;
  void* s = nullptr;
  void* p = nullptr;
  ~Buffers() {
    cuda::release(device, s);
    cuda::release(device, p);
  }
};

}  // namespace

Status gpu_time_attention(const std::string& which, const AttentionParams& p, int warmup, int runs, std::vector<double>* secs) {
  AttentionShape s;
  TK_RETURN_IF_ERROR(attention_validate(p, &s));
  if (!p.q.device.is_cuda()) return InvalidArgument("gpu_time_attention takes device tensors");
  const int dev = p.q.device.index;
  TK_RETURN_IF_ERROR(cuda::set_device(dev));
  auto stream = static_cast<cudaStream_t>(cuda::stream(dev));
  const bool baseline = which == "cublas";
  Buffers buf{dev};
  const int64_t M = s.group * s.Sq, batch = s.B * s.Hkv, rows = s.B * s.Hq * s.Sq;
  if (baseline) {
    if (p.bshd || present(p.mask) || present(p.kv_lengths) || p.softcap > 0 || p.q.dtype == DType::kFloat32 || p.out.dtype != p.q.dtype)
      return Unsupported("the cuBLAS attention baseline takes 'bhsd' float16 / bfloat16 without mask, kvLengths or softcap");
    TK_RETURN_IF_ERROR(cuda::alloc(dev, size_t(rows) * s.Sk * 4, &buf.s));
    TK_RETURN_IF_ERROR(cuda::alloc(dev, size_t(rows) * s.Sk * 2, &buf.p));
  }
  auto call = [&]() -> Status {
    if (!baseline) return attention_cuda(p, s, dev);
    if (rows == 0 || s.Sk == 0) return Status::Ok();
    TK_RETURN_IF_ERROR(cublas_gemm_batched(dev, false, true, M, s.Sk, s.D, p.scale, p.q.data, s.D, M * s.D, p.k.data, s.D, s.Sk * s.D,
                                           buf.s, s.Sk, M * s.Sk, batch, p.q.dtype, DType::kFloat32));
    if (p.q.dtype == DType::kBFloat16)
      softmax_rows<__nv_bfloat16>
          <<<unsigned(rows), 256, 0, stream>>>(static_cast<float*>(buf.s), static_cast<__nv_bfloat16*>(buf.p), rows, s.Sq, s.Sk, p.causal);
    else
      softmax_rows<__half>
          <<<unsigned(rows), 256, 0, stream>>>(static_cast<float*>(buf.s), static_cast<__half*>(buf.p), rows, s.Sq, s.Sk, p.causal);
    TK_CUDA_CHECK(cudaGetLastError());
    return cublas_gemm_batched(dev, false, false, M, s.D, s.Sk, 1.0f, buf.p, s.Sk, M * s.Sk, p.v.data, s.D, s.Sk * s.D, p.out.data, s.D,
                               M * s.D, batch, p.q.dtype, p.q.dtype);
  };
  return time_on_stream(dev, warmup, runs, call, secs);
}

}  // namespace tk::bench
