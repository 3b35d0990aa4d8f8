// SpMM row kernels for neon (see spmm_kernel_impl.h); used only when the CPU has the ISA.
#define TK_SIMD_ISA 4
#include "spmm_kernel_impl.h"

void tk::spmm_kernels::get_kernels_neon(IsaKernels* k) { fill_kernels(k, "spmm_csr_neon"); }
