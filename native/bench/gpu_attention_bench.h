// The GPU attention bench: CUDA-event timing of tensorkern's fused attention and of the materialized
// baseline the issue names -- cuBLAS S = scale Q K^T (fp32 out) -> a row softmax kernel (P in the
// input dtype) -> cuBLAS O = P V -- on the same device tensors. gpu_attention_bench.cu in CUDA
// builds, gpu_attention_bench_stub.cc otherwise.
#pragma once
#include <string>
#include <vector>

#include "../core/status.h"
#include "../ops/attention/attention.h"

namespace tk::bench {

// Seconds per call of `runs` calls after `warmup`. which: "tensorkern" (attention_cuda) or "cublas"
// (the baseline: 'bhsd', float16 / bfloat16, no mask / kvLengths / softcap; GQA by treating the
// query heads of a kv head as one taller matrix). The baseline's score buffers are allocated once,
// outside the timed calls.
Status gpu_time_attention(const std::string& which, const AttentionParams& p, int warmup, int runs, std::vector<double>* secs);

}  // namespace tk::bench
