// linear_attention on a CUDA device: the plan (block size from the head dim and the device's shared
// memory, the grid) and one launch of the SIMT float32 kernel (linear_attention_kernel_simt.cuh; its
// CTA program and index math in linear_attention_cuda_layout.h, emulated on the host by the native
// self-test). Opt-in until it has run on a GPU (linear_attention_cuda_enabled).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <string>

#include "../../cuda/check.h"
#include "../../cuda/launch.h"
#include "../../cuda/runtime.h"
#include "linear_attention.h"
#include "linear_attention_cuda_layout.h"
#include "linear_attention_kernel_simt.cuh"

namespace tk {
namespace {

namespace L = culinattn;
cuda::LastKernel g_last;

template <class Fn>
Status with_type(DType t, Fn fn) {
  switch (t) {
    case DType::kFloat32: return fn(float{});
    case DType::kFloat16: return fn(__half{});
    case DType::kBFloat16: return fn(__nv_bfloat16{});
    default: return Unsupported("linearAttention dtype");
  }
}

template <class TI, class TO>
Status launch_simt(const LinearAttentionParams& p, const L::Problem& pr, dim3 grid, int smem, const float* decay, cudaStream_t stream) {
  auto kernel = L::linattn_simt_kernel<TI, TO>;
  TK_RETURN_IF_ERROR(cuda::set_smem(kernel, smem));
  const L::DeviceSrc<TI> src{static_cast<const TI*>(p.q.data), static_cast<const TI*>(p.k.data), static_cast<const TI*>(p.v.data),
                             present(p.state_in) ? p.state_in.as<const float>() : nullptr, present(p.state_in)};
  const L::DeviceDst<TO> dst{static_cast<TO*>(p.out.data), present(p.state_out) ? p.state_out.as<float>() : nullptr, present(p.state_out)};
  kernel<<<grid, L::kThreads, smem, stream>>>(pr, src, dst, decay);
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}

}  // namespace

Status linear_attention_cuda(const LinearAttentionParams& p, const LinearAttentionShape& s, int device) {
  if (!linear_attention_cuda_enabled())
    return Unsupported(
        "linearAttention's CUDA kernel has not yet run on a GPU: opt in with TENSORKERN_LINEAR_ATTENTION_KERNEL=simt (or "
        "debug.setPath('linearAttention', 'cuda', 'simt')), or run on CPU tensors (tensor.to('cpu'))");
  if (s.B * s.H == 0) return Status::Ok();
  TK_RETURN_IF_ERROR(cuda::set_device(device));
  const cuda::DeviceInfo& info = cuda::probe().devices[device];
  const int bs = L::pick_block(s.D, int64_t(info.smem_per_block_optin));
  if (bs == 0)
    return Unsupported("linearAttention on CUDA: head dim D = " + std::to_string(s.D) +
                       " does not fit the kernel's shared memory on this device; run on CPU tensors");
  if (s.B * s.H > 2147483647 || L::slices(s.Dv) > 65535)
    return Unsupported("linearAttention on CUDA: B * H or Dv / 32 past the device's grid limits");
  const L::Problem pr = L::make_problem(s, bs, p.causal, p.scale);
  auto stream = static_cast<cudaStream_t>(cuda::stream(device));
  // The decay values (host memory, range-checked by linear_attention_validate) go up once per call.
  cuda::DeviceCopies copies(device);
  TensorView decay;
  TK_RETURN_IF_ERROR(copies.copy_in(p.decay, &decay, true));
  const dim3 grid(static_cast<unsigned>(s.B * s.H), static_cast<unsigned>(L::slices(s.Dv)));
  const int smem = int(L::smem_bytes(bs, s.D));
  const float* dk = present(decay) ? decay.as<const float>() : nullptr;
  TK_RETURN_IF_ERROR(with_type(p.q.dtype, [&](auto ti) {
    return with_type(p.out.dtype, [&](auto to) { return launch_simt<decltype(ti), decltype(to)>(p, pr, grid, smem, dk, stream); });
  }));
  g_last.set("simt_bs" + std::to_string(bs) + "_dv32");
  return cuda::synchronize(device);
}

std::string linear_attention_cuda_last_kernel() { return g_last.get(); }

}  // namespace tk
