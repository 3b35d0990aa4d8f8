// Reading each op's params object (lib/binding.ts declares them) into the op's C++ params, checked.
// The ops' binding files define these; native/bench reuses them for the baselines that take an op's
// params (gemmPlain, spmmPlain, attentionPlain, w4a4Plain).
#pragma once
#include "../ops/attention/attention.h"
#include "../ops/gemm/gemm.h"
#include "../ops/quant_common/matmul_epilogue.h"
#include "../ops/spmm/spmm.h"
#include "../ops/w4a4/w4a4.h"
#include "params.h"

namespace tk::napi {

// The quantized matmuls' shared epilogue params { out, bias?, c?, alpha?, beta? } (lib/ops/quant-common.ts
// EpilogueParams; alpha defaults to 1, beta to 0), read into the fields of the same names every such op's
// params struct has. Checked by make_matmul_epilogue in the op's validate.
template <class OpParams>
inline void read_epilogue(const Params& in, OpParams* p, KeepAlive* keep) {
  p->out = in.tensor(Key::out, keep);
  p->bias = in.optional_tensor(Key::bias, keep);
  p->c = in.optional_tensor(Key::c, keep);
  p->alpha = in.has(Key::alpha) ? static_cast<float>(in.number(Key::alpha)) : 1.0f;
  p->beta = in.has(Key::beta) ? static_cast<float>(in.number(Key::beta)) : 0.0f;
}

// { a, b, c?, bias?, out, transA, transB, alpha, beta, runDevice?, allowTf32?, packed?, packedLayout? }; validated.
void read_gemm(const Params& in, GemmParams* p, GemmShape* s, KeepAlive* keep);
// { rowPtr, colIdx, values, rows, cols, b, c?, out, alpha, beta, runDevice?, kernel?, devForm? }; validated.
void read_spmm(const Params& in, SpmmParams* p, KeepAlive* keep);
// { q, k, v, mask?, kvLengths?, out, lse?, causal, bshd, scale, softcap, causalOffset?, qkOut?, qkStage? }; validated.
void read_attention(const Params& in, AttentionParams* p, AttentionShape* s, KeepAlive* keep);
// { x, w, scales, zeroPoints?, outlierChannels?, outlierWeights?, outlierScales?, bias?, out, groupSize,
//   rotateBlock, actBits, xScales? }; validated.
void read_w4a4(const Params& in, W4A4Params* p, W4A4Shape* s, KeepAlive* keep);

}  // namespace tk::napi
