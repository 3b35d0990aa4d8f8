// SpMM row kernels for avx2 (see spmm_kernel_impl.h); used only when the CPU has the ISA.
#define TK_SIMD_ISA 2
#include "spmm_kernel_impl.h"

void tk::spmm_kernels::get_kernels_avx2(IsaKernels* k) { fill_kernels(k, "spmm_csr_avx2"); }
