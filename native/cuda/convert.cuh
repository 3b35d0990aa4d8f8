// Element conversions every CUDA op's kernels share: a float32 / float16 / bfloat16 element to float32
// and back (round to nearest even), as device functions picked by the element type.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "../core/dtype.h"
#include "../core/status.h"

namespace tk {

template <class T>
__device__ __forceinline__ float to_f32(T v);
template <>
__device__ __forceinline__ float to_f32<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ float to_f32<__half>(__half v) {
  return __half2float(v);
}
template <>
__device__ __forceinline__ float to_f32<__nv_bfloat16>(__nv_bfloat16 v) {
  return __bfloat162float(v);
}

template <class T>
__device__ __forceinline__ T from_f32(float v);
template <>
__device__ __forceinline__ float from_f32<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_f32<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// Host side: fn(T{}) with T the device element type of a float dtype (float, __half, __nv_bfloat16), so
// a launch is instantiated once per dtype; Unsupported for any other dtype.
template <class Fn>
Status with_float_type(DType t, Fn fn) {
  switch (t) {
    case DType::kFloat32: return fn(float{});
    case DType::kFloat16: return fn(__half{});
    case DType::kBFloat16: return fn(__nv_bfloat16{});
    default: return Unsupported(std::string("a float32, float16 or bfloat16 tensor, not ") + dtype_name(t));
  }
}

}  // namespace tk
