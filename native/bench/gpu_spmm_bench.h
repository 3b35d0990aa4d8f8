// The GPU spmm bench baseline: cuSPARSE's generic SpMM (cusparseSpMM, CSR x row-major dense) loaded with
// dlopen, timed with CUDA events on the library stream. gpu_spmm_bench.cc in CUDA builds, a stub otherwise.
#pragma once
#include <string>
#include <vector>

#include "../core/status.h"
#include "../core/tensor_view.h"

namespace tk::bench {

struct CusparseInfo {
  bool available = false;
  std::string path, version, why;
};

// TENSORKERN_CUSPARSE, libcusparse.so.12 / .13 on the loader path, /usr/local/cuda/lib64, and the pip
// packages PyTorch installs (site-packages/nvidia/cusparse/lib, nvidia/cu13/lib). Loaded once.
CusparseInfo cusparse_load();

// out[rows, N] = A @ b by cusparseSpMM (CSR_ALG2 for float32, the fastest CSR algorithm for row-major
// B in NVIDIA's guide; the buffer it asks for is allocated once per call of this function), all device
// tensors, int32 or int64 indices: seconds per call.
Status gpu_time_cusparse_spmm(const TensorView& row_ptr, const TensorView& col_idx, const TensorView& values, int64_t rows, int64_t cols,
                              const TensorView& b, const TensorView& out, int warmup, int runs, std::vector<double>* secs);

}  // namespace tk::bench
