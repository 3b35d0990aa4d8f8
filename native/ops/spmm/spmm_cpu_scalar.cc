// SpMM row kernels for scalar (see spmm_kernel_impl.h); used only when the CPU has the ISA.
#define TK_SIMD_ISA 1
#include "spmm_kernel_impl.h"

void tk::spmm_kernels::get_kernels_scalar(IsaKernels* k) { fill_kernels(k, "spmm_csr_scalar"); }
