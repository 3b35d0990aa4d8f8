// cast on a CUDA device: one elementwise grid-stride kernel per (from, to) pair.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "../../cuda/check.h"
#include "../../cuda/convert.cuh"
#include "../../cuda/runtime.h"
#include "cast.h"

namespace tk {
namespace {

template <class From, class To>
__global__ void cast_kernel(const From* __restrict__ src, To* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    dst[i] = from_f32<To>(to_f32<From>(src[i]));
  }
}

template <class From, class To>
Status launch(const CastParams& p, cudaStream_t stream, int sms) {
  constexpr int kThreads = 256;
  int64_t blocks = (p.src.numel + kThreads - 1) / kThreads;
  int grid = static_cast<int>(blocks < int64_t(sms) * 8 ? blocks : int64_t(sms) * 8);  // grid-stride beyond that
  cast_kernel<From, To><<<grid, kThreads, 0, stream>>>(static_cast<const From*>(p.src.data), static_cast<To*>(p.dst.data), p.src.numel);
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}

template <class From>
Status launch_to(const CastParams& p, cudaStream_t s, int sms) {
  switch (p.dst.dtype) {
    case DType::kFloat32: return launch<From, float>(p, s, sms);
    case DType::kFloat16: return launch<From, __half>(p, s, sms);
    case DType::kBFloat16: return launch<From, __nv_bfloat16>(p, s, sms);
    default: return Unsupported("cast target dtype");
  }
}

}  // namespace

Status cast_cuda(const CastParams& p) {
  const int dev = p.src.device.index;
  if (p.src.numel == 0) return Status::Ok();
  if (p.src.dtype == p.dst.dtype) return cuda::copy_device_to_device(dev, p.dst.data, p.src.data, p.src.nbytes());
  TK_RETURN_IF_ERROR(cuda::set_device(dev));
  auto stream = static_cast<cudaStream_t>(cuda::stream(dev));
  int sms = cuda::probe().devices[dev].multiprocessors;
  Status s;
  switch (p.src.dtype) {
    case DType::kFloat32: s = launch_to<float>(p, stream, sms); break;
    case DType::kFloat16: s = launch_to<__half>(p, stream, sms); break;
    case DType::kBFloat16: s = launch_to<__nv_bfloat16>(p, stream, sms); break;
    default: return Unsupported("cast source dtype");
  }
  TK_RETURN_IF_ERROR(s);
  return cuda::synchronize(dev);
}

}  // namespace tk
