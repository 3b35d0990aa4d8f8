// The per-ISA SpMM row kernels (spmm_cpu_<isa>.cc) and what the driver (spmm_cpu.cc) hands them.
#pragma once
#include <atomic>
#include <cstdint>

namespace tk::spmm_kernels {

// One CSR operand with its index type erased; the kernels are instantiated for int32 and int64.
struct Csr {
  const void* row_ptr;
  const void* col_idx;
  const float* values;
  bool idx64;
  int64_t rows, cols, nnz;
};

struct Dense {
  const float* b;  // [cols, ldb]
  int64_t ldb;
  const float* c;  // [rows, ldc] or null
  int64_t ldc;
  float* out;  // [rows, ldo]
  int64_t ldo;
  int64_t n;
  float alpha, beta;
};

// First bad index a kernel met (rows/nnz position); -1 while none. Kernels record and skip it.
struct BadIndex {
  std::atomic<int64_t> row{-1};
  std::atomic<int64_t> pos{-1};
  void record(int64_t r, int64_t p) {
    int64_t none = -1;
    if (row.compare_exchange_strong(none, r)) pos.store(p);
  }
};

// How the tuned kernel walks the product (chosen by the driver from the matrix and the caches).
struct Plan {
  bool prefetch = true;  // prefetch B rows ahead (B's tile does not fit L2)
};

// Computes rows [r0, r1) of out for every column. Also checks each row's row_ptr range and every
// column index before using them.
using RowsFn = void (*)(const Csr& a, const Dense& d, const Plan& plan, int64_t r0, int64_t r1, BadIndex* bad);

struct IsaKernels {
  RowsFn rows = nullptr;        // the tuned kernel
  RowsFn plain_rows = nullptr;  // the bench's hand-written-loop baseline
  const char* name = "";
  int tile_floats = 1;  // output columns per register tile of the tuned kernel
};

void get_kernels_scalar(IsaKernels* k);
void get_kernels_avx2(IsaKernels* k);
void get_kernels_avx512(IsaKernels* k);
void get_kernels_neon(IsaKernels* k);

}  // namespace tk::spmm_kernels
