// lutMatmul on a CUDA device: LUT Tensor Core's idea on regular SMs -- per CTA, the tables of every
// quad's 16 signed partial sums are built per token in shared memory and the bit planes stream from
// global memory, one weight row per thread (the per-thread code is lut_cuda_layout.h's, emulated on
// the host by the native self-test). Opt-in until it has run on a GPU (lut_cuda_enabled).
#include "../../cuda/check.h"
#include "../../cuda/runtime.h"
#include "lut.h"
#include "lut_cuda_layout.h"

namespace tk {
namespace {

namespace L = culut;
cuda::LastKernel g_last;

__global__ void __launch_bounds__(L::kThreads) lut_simt_kernel(L::KArgs a) {
  __shared__ float tab[L::kTableFloats];
  const int tid = threadIdx.x;
  const int64_t n0 = int64_t(blockIdx.x) * L::kThreads, m0 = int64_t(blockIdx.y) * L::kTokens;
  L::ThreadState st;
  L::init_state(st, a);
  for (int64_t q0 = 0; q0 < a.KQ; q0 += L::kChunk) {
    L::build_tables(a, tid, q0, m0, tab);
    __syncthreads();
    L::consume(a, tid, n0, q0, tab, st);
    __syncthreads();
  }
  L::finish(a, tid, n0, m0, st);
}

}  // namespace

Status lut_cuda(const LutParams& p, const LutShape& s, int device) {
  if (!lut_cuda_enabled())
    return Unsupported(
        "lutMatmul's CUDA kernel has not yet run on a GPU: opt in with TENSORKERN_LUT_KERNEL=simt (or debug.setPath('lut', 'cuda', "
        "'simt')), or run on host tensors");
  const LutLayout& Ly = s.L;
  if (s.M == 0 || Ly.N == 0) return Status::Ok();
  TK_RETURN_IF_ERROR(cuda::set_device(device));
  const int64_t gx = (Ly.N + L::kThreads - 1) / L::kThreads, gy = (s.M + L::kTokens - 1) / L::kTokens;
  if (gx > 2147483647 || gy > 65535) return Unsupported("lutMatmul on CUDA: more than 65535 * 4 tokens, or a grid past the device's limit");
  L::KArgs a;
  a.planes = static_cast<const uint32_t*>(p.planes.data);
  a.scales = p.scales.as<float>();
  a.x = p.x.data;
  a.x_bf16 = p.x.dtype == DType::kBFloat16;
  a.M = s.M, a.N = Ly.N, a.K = Ly.K, a.gs = Ly.gs, a.G = Ly.G, a.Qg = Ly.Qg, a.KQ = Ly.KQ, a.KC = Ly.KC, a.bits = Ly.bits;
  a.epi = s.epi;
  a.out = p.out.as<float>();
  auto stream = static_cast<cudaStream_t>(cuda::stream(device));
  lut_simt_kernel<<<dim3(unsigned(gx), unsigned(gy)), L::kThreads, 0, stream>>>(a);
  TK_CUDA_CHECK(cudaGetLastError());
  g_last.set("simt lut (shared-memory tables, 64 rows x 4 tokens)");
  return cuda::synchronize(device);
}

std::string lut_cuda_last_kernel() { return g_last.get(); }

}  // namespace tk
