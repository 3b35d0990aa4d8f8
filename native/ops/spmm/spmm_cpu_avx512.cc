// SpMM row kernels for avx512 (see spmm_kernel_impl.h); used only when the CPU has the ISA.
#define TK_SIMD_ISA 3
#include "spmm_kernel_impl.h"

void tk::spmm_kernels::get_kernels_avx512(IsaKernels* k) { fill_kernels(k, "spmm_csr_avx512"); }
