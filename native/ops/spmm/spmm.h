// spmm: out = alpha * A @ B + beta * C, A sparse CSR [rows, cols] (int32 or int64 indices, float32
// values), B dense [cols, N], C and out dense [rows, N] (out may be C itself: an in-place update).
// Every index is checked before it is used to address memory: row_ptr up front and per row, column
// indices inside the kernels as they are read (a branch that is never taken on valid input).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

namespace tk {

// The matrix's arrays on a CUDA device (the JS layer uploads them once per device and caches them on
// the SparseMatrix). CSR always; the blocked form (SparseMatrix.prepare({ format: 'blocked' })) when
// it was built. Absent entries have ndim == -1. The host arrays of SpmmParams stay the reference:
// they are validated and name bad entries in errors; the kernels re-check every device index.
inline TensorView absent_tensor() {
  TensorView t;
  t.ndim = -1;
  return t;
}
struct SpmmDeviceForm {
  TensorView row_ptr = absent_tensor(), col_idx = absent_tensor(), values = absent_tensor();  // as the host CSR
  // int32 [rows], int32 [panels + 1], int32 [blocks], float32 [blocks * 128]
  TensorView perm = absent_tensor(), panel_ptr = absent_tensor(), block_col = absent_tensor(), block_values = absent_tensor();
};

// Which CUDA kernel: 0 auto (by density, block fill and N), 1 csr, 2 blocked (SMaT), 3 tiles (Flash-LLM).
enum SpmmCudaKernel { kSpmmAuto = 0, kSpmmCsr = 1, kSpmmBlocked = 2, kSpmmTiles = 3 };

struct SpmmParams {
  TensorView row_ptr;  // [rows + 1] int32 or int64
  TensorView col_idx;  // [nnz], the dtype of row_ptr
  TensorView values;   // [nnz] float32
  int64_t rows = 0, cols = 0;
  TensorView b;    // [cols, N] float32
  TensorView c;    // optional (ndim == -1): [rows, N] float32
  TensorView out;  // [rows, N] float32
  float alpha = 1.0f, beta = 0.0f;
  SpmmDeviceForm dev;      // required when b is a device tensor or run_device >= 0
  int run_device = -1;     // host b / c / out computed on this CUDA device (copied in and out)
  int kernel = kSpmmAuto;  // SpmmCudaKernel
};

// Checks dtypes, shapes, devices and the ends of row_ptr (the JS layer checks first with friendlier
// messages; this is the memory-safety re-check).
Status spmm_validate(const SpmmParams& p);
Status spmm(const SpmmParams& p);
Status spmm_cpu(const SpmmParams& p);
// The CUDA path: b, c, out on device `dev` (spmm_cuda), or host b / c / out copied in and out (spmm_cuda_host).
Status spmm_cuda(const SpmmParams& p, int dev);
Status spmm_cuda_host(const SpmmParams& p, int dev);
// The kernel the last CUDA spmm ran, with its shape ("" before any).
std::string spmm_cuda_last_kernel();
// Seconds per run (CUDA events, `runs` after `warmup`) of spmm on device tensors: the bench.
Status spmm_cuda_time(const SpmmParams& p, int warmup, int runs, std::vector<double>* seconds);
// The kernel spmm_cpu last ran ("" before any).
const char* spmm_cpu_last_kernel();
// The test and bench hooks (native/core/op_hooks.h): "auto" on both (the CUDA kernel is a per-call
// parameter, SpmmParams::kernel).
Status spmm_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use);
std::string spmm_last_kernel(const std::string& device);
// The bench's baseline: the straightforward hand-written SIMD loop (rows split evenly over threads,
// one row at a time, up to 64 columns of the row held in registers).
Status spmm_plain(const SpmmParams& p);

}  // namespace tk
