// spmm: out = alpha * A @ B + beta * C, A sparse CSR [rows, cols] (int32 or int64 indices, float32
// values), B dense [cols, N], C and out dense [rows, N] (out may be C itself: an in-place update).
// Every index is checked before it is used to address memory: row_ptr up front and per row, column
// indices inside the kernels as they are read (a branch that is never taken on valid input).
#pragma once
#include <cstdint>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

namespace tk {

struct SpmmParams {
  TensorView row_ptr;  // [rows + 1] int32 or int64
  TensorView col_idx;  // [nnz], the dtype of row_ptr
  TensorView values;   // [nnz] float32
  int64_t rows = 0, cols = 0;
  TensorView b;    // [cols, N] float32
  TensorView c;    // optional (ndim == -1): [rows, N] float32
  TensorView out;  // [rows, N] float32
  float alpha = 1.0f, beta = 0.0f;
};

// Checks dtypes, shapes, devices and the ends of row_ptr (the JS layer checks first with friendlier
// messages; this is the memory-safety re-check).
Status spmm_validate(const SpmmParams& p);
Status spmm(const SpmmParams& p);
Status spmm_cpu(const SpmmParams& p);
// The CPU kernel family spmm_cpu uses for this N on the active ISA (reported by the bench).
const char* spmm_cpu_kernel_name(int64_t n);
// The bench's baseline: the straightforward hand-written SIMD loop (rows split evenly over threads,
// one row at a time, up to 64 columns of the row held in registers).
Status spmm_plain(const SpmmParams& p);

}  // namespace tk
