// attention: out = softmax(scale * q @ k^T (+ softcap, + mask)) @ v, exact, without materializing the
// Sq x Sk score matrix (FlashAttention's tiling with an online softmax).
//   q [B, Hq, Sq, D], k [B, Hkv, Sk, D], v [B, Hkv, Sk, Dv] ('bhsd'), or [B, S, H, D|Dv] ('bshd'): both
//   run in place through element strides, no transpose copy. Hq is a multiple of Hkv (GQA / MQA):
//   query head h uses KV head h / (Hq / Hkv). Dv (V's head dim) may differ from D. float32 / float16 /
//   bfloat16 inputs (one dtype), fp32 accumulation; out [.., Dv] in any float dtype, laid out like q.
// Semantics (docs/attention.md): key j is visible to query i of batch b when
//   j < L_b (L_b = kv_lengths[b], else Sk), and j < the mask's key count (a mask whose last dim is
//   shorter than Sk hides the keys past it, as ONNX pads it with -inf / false), and with causal
//   j <= i + off_b (off_b = causal_offset when given, else L_b - Sq: bottom-right), and the mask allows
//   it (bool / int8: nonzero = attend; float: added to the score, -inf hides).
// softcap (> 0) maps the scaled score s to softcap * tanh(s / softcap) before the mask is added.
// A row with no visible key outputs 0 (and lse = -inf).
#pragma once
#include <cstdint>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

namespace tk {

// The stages of the score pipeline ONNX exposes as qk_matmul_output, in pipeline order (not ONNX's
// mode numbers): scale * q k^T, after the softcap, after the masks (hidden keys -inf), the softmax.
enum QkStage : int { kQkNone = -1, kQkScores = 0, kQkSoftcap = 1, kQkMask = 2, kQkSoftmax = 3 };

struct AttentionParams {
  TensorView q, k, v;
  TensorView mask;        // optional (ndim == -1): rank 1..4, broadcastable to [B, Hq, Sq, Sk] (always that order);
                          // the last dim 1, Sk, or shorter than Sk (keys past it hidden)
  TensorView kv_lengths;  // optional: int32 [B], each in [0, Sk]
  TensorView out;         // q's shape and layout with head dim Dv
  TensorView lse;         // optional: float32 [B, Hq, Sq]
  TensorView qk_out;      // read only with qk_stage >= 0: float32 [B, Hq, Sq, Sk] on the CPU (attention_qk_output)
  int qk_stage = kQkNone;
  bool causal = false;
  bool has_causal_offset = false;  // else the offset is L_b - Sq (bottom-right)
  int64_t causal_offset = 0;       // in [-Sq, Sk]: query i sees keys j <= i + causal_offset
  bool bshd = false;               // layout of q / k / v / out
  float scale = 0.0f;              // the caller passes 1/sqrt(D) for the default
  float softcap = 0.0f;            // 0 = off
};

// Sizes and element strides derived from the params.
struct AttentionShape {
  int64_t B = 0, Hq = 0, Hkv = 0, Sq = 0, Sk = 0, D = 0, Dv = 0;
  int64_t group = 1;  // Hq / Hkv
  // element strides (batch, head, sequence) of q, k, v and out; the head-dim stride is 1
  int64_t qb = 0, qh = 0, qs = 0, kb = 0, kh = 0, ks = 0, vb = 0, vh = 0, vs = 0, ob = 0, oh = 0, os = 0;
  // mask element strides for (b, h, i, j); 0 on broadcast dims
  int64_t mb = 0, mh = 0, mi = 0, mj = 0;
  int64_t mask_keys = 0;  // keys [0, mask_keys) are covered by the mask (Sk without one); the rest hidden
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

// The score matrix at p.qk_stage into p.qk_out (CPU tensors; a float64 slow path for debugging small
// shapes, apart from the fused kernels: attention_qk.cc).
Status attention_qk_output(const AttentionParams& p, const AttentionShape& s);

// The kernel attention_cpu last ran ("" before any).
const char* attention_cpu_last_kernel();
// The test hook behind setPath('attention', 'cpu', ...): 'auto' routes decode shapes (few rows per kv
// head, no mask or softcap) to the decode kernel, 'tiles' keeps every call on the tile kernel.
bool attention_cpu_set_decode(bool on);

// The test and bench hooks (native/core/op_hooks.h): "auto" on the CPU (the ISA is setIsaCap's);
// "auto" | "sm90" | "decode" | "sm80" | "simt" with KV splits 0..128 on CUDA.
Status attention_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use);
std::string attention_last_kernel(const std::string& device);

// The unfused baseline for the bench: per (batch, head) S = scale * q k^T with the project's GEMM into
// an Sq x Sk buffer, a row softmax (causal by zeroing), O = P v with the GEMM. float32, 'bhsd', D = Dv,
// no mask / kvLengths / softcap / causal offset. Memory O(Sq * Sk) on purpose: it is what fusion avoids.
Status attention_plain(const AttentionParams& p, const AttentionShape& s);

}  // namespace tk
