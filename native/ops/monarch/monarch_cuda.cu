// monarch on a CUDA device: the two block-diagonal products as two launches of one SIMT tiled
// kernel (index math in monarch_cuda_layout.h, emulated on the host by the native self-test), the
// intermediate u in a float32 workspace. Opt-in until it has run on a GPU (monarch_cuda_enabled).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "../../cuda/check.h"
#include "../../cuda/convert.cuh"
#include "../../cuda/launch.h"
#include "../../cuda/runtime.h"
#include "monarch.h"
#include "monarch_cuda_layout.h"

namespace tk {
namespace {

namespace L = cumonarch;
cuda::LastKernel g_last;

template <class TA, class TB, class TC>
__global__ void __launch_bounds__(L::kThreads)
    monarch_stage_kernel(const TA* __restrict__ a, const TB* __restrict__ b, TC* __restrict__ c, L::Stage st, int64_t rows) {
  __shared__ float As[L::kBK * (L::kBM + L::kPad)];
  __shared__ float Bs[L::kBK * (L::kBN + L::kPad)];
  const int tid = threadIdx.x;
  const int64_t g = blockIdx.z, m0 = int64_t(blockIdx.x) * L::kBM, n0 = int64_t(blockIdx.y) * L::kBN;
  float acc[L::kTM][L::kTN] = {};
  for (int64_t k0 = 0; k0 < st.K; k0 += L::kBK) {
#pragma unroll
    for (int r = 0; r < L::kLoadRounds; ++r) {
      const L::RowCol e = L::load_slot(tid, r);
      const int64_t m = m0 + e.row, n = n0 + e.row, kk = k0 + e.col;
      As[L::smem_a(e.col, e.row)] = m < rows && kk < st.K ? to_f32(a[L::a_index(st, g, m, kk)]) : 0.0f;
      Bs[L::smem_b(e.col, e.row)] = n < st.N && kk < st.K ? to_f32(b[L::b_index(st, g, n, kk)]) : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < L::kBK; ++kk) {
      float av[L::kTM], bv[L::kTN];
#pragma unroll
      for (int i = 0; i < L::kTM; ++i) av[i] = As[L::smem_a(kk, L::out_slot(tid, i, 0).row)];
#pragma unroll
      for (int j = 0; j < L::kTN; ++j) bv[j] = Bs[L::smem_b(kk, L::out_slot(tid, 0, j).col)];
#pragma unroll
      for (int i = 0; i < L::kTM; ++i)
#pragma unroll
        for (int j = 0; j < L::kTN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < L::kTM; ++i)
#pragma unroll
    for (int j = 0; j < L::kTN; ++j) {
      const L::RowCol o = L::out_slot(tid, i, j);
      const int64_t m = m0 + o.row, n = n0 + o.col;
      if (m < rows && n < st.N) c[L::c_index(st, g, m, n)] = from_f32<TC>(acc[i][j]);
    }
}

template <class TA, class TB, class TC>
Status launch_stage(const void* a, const void* b, void* c, const L::Stage& st, int64_t rows, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((rows + L::kBM - 1) / L::kBM), static_cast<unsigned>((st.N + L::kBN - 1) / L::kBN),
                  static_cast<unsigned>(st.blocks));
  monarch_stage_kernel<TA, TB, TC>
      <<<grid, L::kThreads, 0, stream>>>(static_cast<const TA*>(a), static_cast<const TB*>(b), static_cast<TC*>(c), st, rows);
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}

}  // namespace

Status monarch_cuda(const MonarchParams& p, const MonarchShape& s, int device) {
  if (!monarch_cuda_enabled())
    return Unsupported(
        "monarch's CUDA kernel has not yet run on a GPU: opt in with TENSORKERN_MONARCH_KERNEL=simt (or debug.setPath('monarch', 'cuda', "
        "'simt')), or run on host tensors");
  if (s.batch == 0 || s.n_out() == 0) return Status::Ok();
  TK_RETURN_IF_ERROR(cuda::set_device(device));
  if (s.p == 0 || s.r == 0) return cuda::fill_zero(device, p.out.data, p.out.nbytes());
  // Grid limits: y and z at most 65535, x at most 2^31 - 1.
  if (s.k > 65535 || s.l > 65535 || (s.q + L::kBN - 1) / L::kBN > 65535 || (s.s + L::kBN - 1) / L::kBN > 65535 ||
      (s.batch + L::kBM - 1) / L::kBM > 2147483647)
    return Unsupported("monarch on CUDA: more than 65535 blocks, or a grid dimension past the device's limit");
  auto stream = static_cast<cudaStream_t>(cuda::stream(device));
  cuda::Workspace u{device};
  TK_RETURN_IF_ERROR(cuda::alloc(device, size_t(s.batch * s.k * s.q) * sizeof(float), &u.ptr));
  const L::Stage st1 = L::stage1(s.n, s.k, s.q, s.p), st2 = L::stage2(s.l, s.s, s.r);
  TK_RETURN_IF_ERROR(with_float_type(p.x.dtype, [&](auto xa) {
    return with_float_type(p.w1.dtype, [&](auto wa) {
      return launch_stage<decltype(xa), decltype(wa), float>(p.x.data, p.w1.data, u.ptr, st1, s.batch, stream);
    });
  }));
  TK_RETURN_IF_ERROR(with_float_type(p.w2.dtype, [&](auto wa) {
    return with_float_type(p.out.dtype, [&](auto oa) {
      return launch_stage<float, decltype(wa), decltype(oa)>(u.ptr, p.w2.data, p.out.data, st2, s.batch, stream);
    });
  }));
  g_last.set("simt_64x64x16 (two stages)");
  return cuda::synchronize(device);
}

std::string monarch_cuda_last_kernel() { return g_last.get(); }

}  // namespace tk
