// linear_attention: Lightning Attention-2 (linear attention with a per-head decay, as in
// TransNormerLLM), cost O(S * D * Dv) instead of softmax attention's O(S^2 * D).
//   q, k [B, H, S, D], v [B, H, S, Dv] ('bhsd'), or [B, S, H, D | Dv] ('bshd', read through strides);
//   one dtype of float32 / float16 / bfloat16, float32 accumulation; out [.., Dv] laid out like q, any
//   float dtype. decay: float32 [H] on the host, each lambda_h in (0, 1] (absent: 1), read when the op
//   runs and range-checked there.
// Semantics (no softmax, no normalization), per (b, h) with lambda = decay[h]:
//   causal:     o_t = scale * ( sum_{s <= t} lambda^(t - s) (q_t . k_s) v_s + lambda^(t + 1) q_t state_in )
//   non-causal: O = scale * Q (state_in + K^T V), lambda must be 1.
//   state_out = lambda^S state_in + sum_s lambda^(S - 1 - s) k_s^T v_s   (state_in absent: 0)
// so a sequence run in chunks, each carrying the last one's state, equals the whole sequence at once.
// state_in / state_out: float32 [B, H, D, Dv] on q's device; they may be the same storage (updated
// in place); out must not overlap any input (the facade checks).
// The CPU algorithm (linear_attention_cpu.cc): blocks of B_s tokens; inside a block the decayed,
// masked Q K^T as a small GEMM, across blocks the running KV state, both on gemm's microkernels.
#pragma once
#include <cstdint>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

namespace tk {

struct LinearAttentionParams {
  TensorView q, k, v;
  TensorView decay;      // optional (ndim == -1): float32 [H], host memory
  TensorView state_in;   // optional: float32 [B, H, D, Dv]
  TensorView state_out;  // optional: float32 [B, H, D, Dv]
  TensorView out;        // q's shape and layout with head dim Dv
  bool causal = true;
  bool bshd = false;
  float scale = 1.0f;
};

struct LinearAttentionShape {
  int64_t B = 0, H = 0, S = 0, D = 0, Dv = 0;
  // element strides (batch, head, sequence) of q / k (same shape), v and out; the head-dim stride is 1
  int64_t qb = 0, qh = 0, qs = 0, vb = 0, vh = 0, vs = 0, ob = 0, oh = 0, os = 0;
};

// Ranks, dims, dtypes, devices and the decay values (when on the host): what memory safety and the
// math need. The facade (lib/ops/linear-attention.ts) checks the same first, with friendlier words.
Status linear_attention_validate(const LinearAttentionParams& p, LinearAttentionShape* s);
// Validates (the decay values again: the caller's tensor may have changed since), then runs.
Status linear_attention(const LinearAttentionParams& p);
Status linear_attention_cpu(const LinearAttentionParams& p, const LinearAttentionShape& s);
// Every tensor on CUDA device `device` (linear_attention_cuda.cu: the sm80 tensor-core tier or the SIMT
// kernel; the CPU-only build answers ERR_TK_NO_GPU). Opt-in until run on a GPU: ERR_TK_UNSUPPORTED
// unless the path is "simt" or "sm80".
Status linear_attention_cuda(const LinearAttentionParams& p, const LinearAttentionShape& s, int device);
const char* linear_attention_cpu_last_kernel();

// The test and bench hooks (native/core/op_hooks.h): "auto" on the CPU; "auto" (= off until verified on
// a GPU), "simt" or "sm80" (float16 / bfloat16 on sm_80+ take the tensor-core tier, the rest simt) on
// CUDA (TENSORKERN_LINEAR_ATTENTION_KERNEL sets the initial value).
Status linear_attention_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use);
std::string linear_attention_last_kernel(const std::string& device);
bool linear_attention_cuda_enabled();
bool linear_attention_cuda_set_enabled(const std::string& path);
std::string linear_attention_cuda_tier();  // "auto" (off), "simt" or "sm80"
std::string linear_attention_cuda_last_kernel();

}  // namespace tk
