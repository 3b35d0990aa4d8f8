// The SIMT float32 kernel of linear_attention: one CTA per (batch * head, 32 value columns), running
// linear_attention_cuda_layout.h's cta_run (the program the native self-test emulates on the host)
// with a __syncthreads() after each step. q / k / v of any float dtype are converted to float32 on
// load; every product accumulates in float32 with fmaf.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "../../cuda/convert.cuh"
#include "linear_attention_cuda_layout.h"

namespace tk::culinattn {

// each(f): this thread's part of a step, then the CTA barrier.
struct CtaEach {
  template <class F>
  __device__ __forceinline__ void operator()(F&& f) const {
    f(int(threadIdx.x));
    __syncthreads();
  }
};

template <class TI>
struct DeviceSrc {
  const TI *q, *k, *v;
  const float* st;
  bool has_state;
  __device__ __forceinline__ float q_at(int64_t i) const { return to_f32(q[i]); }
  __device__ __forceinline__ float k_at(int64_t i) const { return to_f32(k[i]); }
  __device__ __forceinline__ float v_at(int64_t i) const { return to_f32(v[i]); }
  __device__ __forceinline__ float state_at(int64_t i) const { return st[i]; }
};

template <class TO>
struct DeviceDst {
  TO* o;
  float* st;
  bool has_state;
  __device__ __forceinline__ void out_at(int64_t i, float x) const { o[i] = from_f32<TO>(x); }
  __device__ __forceinline__ void state_at(int64_t i, float x) const { st[i] = x; }
};

// grid (B * H, slices(Dv)); dynamic shared memory smem_bytes(p.bs, p.D). decay: H floats on the
// device, or null for 1.
template <class TI, class TO>
__global__ void __launch_bounds__(kThreads) linattn_simt_kernel(Problem p, DeviceSrc<TI> src, DeviceDst<TO> dst, const float* decay) {
  extern __shared__ float sm[];
  const int64_t bh = blockIdx.x;
  const int c0 = int(blockIdx.y) * kSlice;
  const float lambda = decay ? decay[bh % p.H] : 1.0f;
  CtaEach each;
  cta_run(each, p, bh, c0, lambda, src, dst, sm);
}

}  // namespace tk::culinattn
