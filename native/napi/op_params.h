// Reading each op's params object (lib/binding.ts declares them) into the op's C++ params, checked.
// The ops' binding files define these; native/bench reuses them for the baselines that take an op's
// params (gemmPlain, spmmPlain, attentionPlain, w4a4Plain).
#pragma once
#include "../ops/attention/attention.h"
#include "../ops/gemm/gemm.h"
#include "../ops/spmm/spmm.h"
#include "../ops/w4a4/w4a4.h"
#include "params.h"

namespace tk::napi {

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
