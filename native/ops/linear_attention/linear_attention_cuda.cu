// linear_attention on a CUDA device: the plan (the tier, the block size from the head dim and the
// device's shared memory, the grid) and one launch per tier: sm80 (linear_attention_kernel_sm80.cuh:
// float16 / bfloat16 q, k, v on compute capability >= 8.0, the intra-block products on mma.sync) or the
// SIMT float32 kernel (linear_attention_kernel_simt.cuh: every other call). Their CTA programs and index
// math are in linear_attention_cuda_layout.h, emulated on the host by the native self-test. Opt-in
// until they have run on a GPU (linear_attention_cuda_tier: "simt" or "sm80"; sm80 falls back to simt
// for float32 inputs, devices below sm_80 and head dims whose tc tiles do not fit; the recorded kernel
// name says which ran and why).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <string>

#include "../../cuda/check.h"
#include "../../cuda/convert.cuh"
#include "../../cuda/launch.h"
#include "../../cuda/runtime.h"
#include "linear_attention.h"
#include "linear_attention_cuda_layout.h"
#include "linear_attention_kernel_simt.cuh"
#include "linear_attention_kernel_sm80.cuh"

namespace tk {
namespace {

namespace L = culinattn;
cuda::LastKernel g_last;

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

template <class TI, class TO>
Status launch_sm80(const LinearAttentionParams& p, const L::Problem& pr, dim3 grid, int smem, const float* decay, cudaStream_t stream) {
  if constexpr (std::is_same<TI, float>::value) {
    return Internal("linearAttention sm80 tier planned for float32 inputs");
  } else {
    auto kernel = L::linattn_sm80_kernel<TI, TO>;
    TK_RETURN_IF_ERROR(cuda::set_smem(kernel, smem));
    const L::DeviceSrc<TI> src{static_cast<const TI*>(p.q.data), static_cast<const TI*>(p.k.data), static_cast<const TI*>(p.v.data),
                               present(p.state_in) ? p.state_in.as<const float>() : nullptr, present(p.state_in)};
    const L::DeviceDst<TO> dst{static_cast<TO*>(p.out.data), present(p.state_out) ? p.state_out.as<float>() : nullptr,
                               present(p.state_out)};
    kernel<<<grid, L::kThreads, smem, stream>>>(pr, src, dst, decay);
    TK_CUDA_CHECK(cudaGetLastError());
    return Status::Ok();
  }
}

// The sm80 tier's block size, or 0 with the reason it does not take this call.
int plan_sm80(const LinearAttentionParams& p, const LinearAttentionShape& s, const cuda::DeviceInfo& info, std::string* why) {
  if (p.q.dtype == DType::kFloat32) return *why = "float32 inputs", 0;
  if (info.cc_major < 8) return *why = "compute capability below 8.0", 0;
  const int bs = L::pick_block_tc(s.D, int64_t(info.smem_per_block_optin));
  if (bs == 0) *why = "D " + std::to_string(s.D) + " past shared memory";
  return bs;
}

}  // namespace

Status linear_attention_cuda(const LinearAttentionParams& p, const LinearAttentionShape& s, int device) {
  if (!linear_attention_cuda_enabled())
    return Unsupported(
        "linearAttention's CUDA kernel has not yet run on a GPU: opt in with TENSORKERN_LINEAR_ATTENTION_KERNEL=simt or sm80 (or "
        "debug.setPath('linearAttention', 'cuda', 'simt' | 'sm80')), or run on CPU tensors (tensor.to('cpu'))");
  if (s.B * s.H == 0) return Status::Ok();
  TK_RETURN_IF_ERROR(cuda::set_device(device));
  const cuda::DeviceInfo& info = cuda::probe().devices[device];
  const int bs = L::pick_block(s.D, int64_t(info.smem_per_block_optin));
  if (bs == 0)
    return Unsupported("linearAttention on CUDA: head dim D = " + std::to_string(s.D) +
                       " does not fit the kernel's shared memory on this device; run on CPU tensors");
  if (s.B * s.H > 2147483647 || L::slices(s.Dv) > 65535)
    return Unsupported("linearAttention on CUDA: B * H or Dv / 32 past the device's grid limits");
  std::string why;
  const int tc_bs = linear_attention_cuda_tier() == "sm80" ? plan_sm80(p, s, info, &why) : 0;
  const L::Problem pr = L::make_problem(s, tc_bs ? tc_bs : bs, p.causal, p.scale);
  auto stream = static_cast<cudaStream_t>(cuda::stream(device));
  // The decay values (host memory, range-checked by linear_attention_validate) go up once per call.
  cuda::DeviceCopies copies(device);
  TensorView decay;
  TK_RETURN_IF_ERROR(copies.copy_in(p.decay, &decay, true));
  const dim3 grid(static_cast<unsigned>(s.B * s.H), static_cast<unsigned>(L::slices(s.Dv)));
  const float* dk = present(decay) ? decay.as<const float>() : nullptr;
  if (tc_bs) {
    const int smem = int(L::smem_bytes_tc(tc_bs, s.D));
    TK_RETURN_IF_ERROR(with_float_type(p.q.dtype, [&](auto ti) {
      return with_float_type(p.out.dtype, [&](auto to) { return launch_sm80<decltype(ti), decltype(to)>(p, pr, grid, smem, dk, stream); });
    }));
    g_last.set("sm80_bs" + std::to_string(tc_bs) + "_dv32");
  } else {
    const int smem = int(L::smem_bytes(bs, s.D));
    TK_RETURN_IF_ERROR(with_float_type(p.q.dtype, [&](auto ti) {
      return with_float_type(p.out.dtype, [&](auto to) { return launch_simt<decltype(ti), decltype(to)>(p, pr, grid, smem, dk, stream); });
    }));
    g_last.set("simt_bs" + std::to_string(bs) + "_dv32" + (why.empty() ? "" : " (sm80: " + why + ")"));
  }
  return cuda::synchronize(device);
}

std::string linear_attention_cuda_last_kernel() { return g_last.get(); }

}  // namespace tk
