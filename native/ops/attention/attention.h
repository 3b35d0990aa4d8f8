// attention: out = softmax(scale * q @ k^T (+ softcap, + mask)) @ v, exact, without materializing the
// Sq x Sk score matrix (FlashAttention's tiling with an online softmax).
//   q [B, Hq, Sq, D], k / v [B, Hkv, Sk, D] ('bhsd'), or [B, S, H, D] ('bshd'): both run in place
//   through element strides, no transpose copy. Hq is a multiple of Hkv (GQA / MQA): query head h
//   uses KV head h / (Hq / Hkv). float32 / float16 / bfloat16 inputs (one dtype), fp32 accumulation;
//   out in any float dtype, laid out like q.
// Semantics (DESIGN.md §5): key j is visible to query i of batch b when
//   j < L_b (L_b = kv_lengths[b], else Sk), and with causal j <= i + L_b - Sq (bottom-right), and the
//   mask allows it (bool: nonzero = attend; float: added to the score, -inf hides).
// softcap (> 0) maps the scaled score s to softcap * tanh(s / softcap) before the mask is added.
// A row with no visible key outputs 0 (and lse = -inf).
#pragma once
#include <cstdint>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

namespace tk {

struct AttentionParams {
  TensorView q, k, v;
  TensorView mask;        // optional (ndim == -1): rank 2..4, broadcastable to [B, Hq, Sq, Sk] (always that order)
  TensorView kv_lengths;  // optional: int32 [B], each in [0, Sk]
  TensorView out;         // same shape and layout as q
  TensorView lse;         // optional: float32 [B, Hq, Sq]
  bool causal = false;
  bool bshd = false;      // layout of q / k / v / out
  float scale = 0.0f;     // the caller passes 1/sqrt(D) for the default
  float softcap = 0.0f;   // 0 = off
};

// Sizes and element strides derived from the params.
struct AttentionShape {
  int64_t B = 0, Hq = 0, Hkv = 0, Sq = 0, Sk = 0, D = 0;
  int64_t group = 1;  // Hq / Hkv
  // element strides (batch, head, sequence) of q/out and k/v; the D stride is 1
  int64_t qb = 0, qh = 0, qs = 0, kb = 0, kh = 0, ks = 0;
  // mask element strides for (b, h, i, j); 0 on broadcast dims
  int64_t mb = 0, mh = 0, mi = 0, mj = 0;
  bool has_mask = false, mask_bool = false;
};

Status attention_validate(const AttentionParams& p, AttentionShape* s);
Status attention(const AttentionParams& p);
Status attention_cpu(const AttentionParams& p, const AttentionShape& s);
// Every tensor on CUDA device `device` (attention_cuda.cu; the CPU-only build answers ERR_TK_NO_GPU).
Status attention_cuda(const AttentionParams& p, const AttentionShape& s, int device);
// The CUDA kernel tier attention_cuda may use at most ("auto" / "sm80": the mma.sync kernel where the
// device and head dim allow, "simt": the exact-fp32 kernel) and a forced KV split count (0 =
// automatic), for tests and benches; TENSORKERN_ATTENTION_KERNEL sets the initial tier. False for an
// unknown name.
bool attention_cuda_set_path(const char* kernel, int splits);
// The kernel the last attention_cuda call ran (e.g. "sm80_hd128_64x64 bf16 cp.async splits=1").
std::string attention_cuda_last_kernel();

// The kernel family attention_cpu uses on the active ISA (reported by the bench).
const char* attention_cpu_kernel_name(DType dtype);

// The unfused baseline for the bench: per (batch, head) S = scale * q k^T with the project's GEMM into
// an Sq x Sk buffer, a row softmax (causal by zeroing), O = P v with the GEMM. float32, 'bhsd', no
// mask / kvLengths / softcap. Memory O(Sq * Sk) on purpose: it is what fusion avoids.
Status attention_plain(const AttentionParams& p, const AttentionShape& s);

}  // namespace tk
