// The GPU gemm bench: cuBLAS loaded with dlopen as the baseline, and CUDA-event timing of it and of
// tensorkern's kernels on device tensors. gpu_gemm_bench.cc in CUDA builds, a stub otherwise.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "../core/status.h"
#include "../ops/gemm/gemm.h"

namespace tk::bench {

struct CublasInfo {
  bool available = false;
  std::string path, version, why;
};

// TENSORKERN_CUBLAS, libcublas.so.13 / .12 on the loader path, /usr/local/cuda/lib64, and the pip
// packages PyTorch installs (site-packages/nvidia/cublas/lib, nvidia/cu13/lib). Loaded once.
CublasInfo cublas_load();

// Seconds per call of `runs` calls after `warmup`, each bracketed by CUDA events on the library
// stream. which: "tensorkern" (gemm_cuda) or "cublas" (cublasGemmEx; tf32 when allow_tf32).
Status gpu_time_gemm(const std::string& which, const GemmParams& p, int warmup, int runs, std::vector<double>* secs);

// `runs` calls of `call` after `warmup`, each bracketed by CUDA events on the library stream of `dev`:
// seconds per call. Shared by the GPU benches.
Status time_on_stream(int dev, int warmup, int runs, const std::function<Status()>& call, std::vector<double>* secs);

}  // namespace tk::bench
