// The sm80 tier of linear_attention: float16 / bfloat16 q, k, v on compute capability >= 8.0. One CTA
// per (batch * head, 32 value columns) running linear_attention_cuda_layout.h's cta_run_tc (the program
// the native self-test emulates on the host, the mma emulated in float32): the intra-block Q K^T and
// P V on mma.sync m16n8k16 (native/cuda/sm80.cuh) with float32 accumulation, the state products float32
// SIMT (why: linear_attention_configs.h). Fragments are read from shared memory with 32-bit loads at the
// layout's fragment slots (the tiles are converted / transposed / zero-padded on the way in, so there
// is no cp.async stage to overlap). The body is compiled out below sm_80 (the plan never launches it there).
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "../../cuda/sm80.cuh"
#include "linear_attention_cuda_layout.h"
#include "linear_attention_kernel_simt.cuh"

namespace tk::culinattn {

template <class T16>
struct TcOps {
  template <class F>
  __device__ __forceinline__ void each(F&& f) const {
    f(int(threadIdx.x));
    __syncthreads();
  }
  template <class F>
  __device__ __forceinline__ void warps(F&& f) const {
    f(int(threadIdx.x) / 32);
    __syncthreads();
  }
  template <class LA, class LB, class SC>
  __device__ __forceinline__ void mma_tile(int ksteps, LA&& la, LB&& lb, SC&& sc) const {
    const int lane = int(threadIdx.x) % 32;
    float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int ks = 0; ks < ksteps; ++ks) {
      uint32_t a[4], b[2];
#pragma unroll
      for (int r = 0; r < 4; ++r) a[r] = la(lane, ks, r);
#pragma unroll
      for (int r = 0; r < 2; ++r) b[r] = lb(lane, ks, r);
      sm80::mma(acc, a, b, T16{});
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) sc(lane, r, acc[r]);
  }
  __device__ __forceinline__ uint16_t to16(float x) const {
    if constexpr (std::is_same<T16, __half>::value)
      return __half_as_ushort(__float2half_rn(x));
    else
      return __bfloat16_as_ushort(__float2bfloat16_rn(x));
  }
  __device__ __forceinline__ float from16(uint16_t h) const {
    if constexpr (std::is_same<T16, __half>::value)
      return __half2float(__ushort_as_half(h));
    else
      return __bfloat162float(__ushort_as_bfloat16(h));
  }
};

// grid (B * H, slices(Dv)); dynamic shared memory smem_bytes_tc(p.bs, p.D); T16 = q's dtype.
template <class T16, class TO>
__global__ void __launch_bounds__(kThreads) linattn_sm80_kernel(Problem p, DeviceSrc<T16> src, DeviceDst<TO> dst, const float* decay) {
#if __CUDA_ARCH__ >= 800
  extern __shared__ float sm[];
  const int64_t bh = blockIdx.x;
  const int c0 = int(blockIdx.y) * kSlice;
  const float lambda = decay ? decay[bh % p.H] : 1.0f;
  cta_run_tc(TcOps<T16>{}, p, bh, c0, lambda, src, dst, sm);
#endif
}

}  // namespace tk::culinattn
