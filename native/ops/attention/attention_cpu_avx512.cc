// AVX-512 attention kernels (compiled with -mavx512f/bw/vl/dq/bf16; used only when CPUID has them):
// the same tile kernel as AVX2 on 16 lanes (6x32 register tiles, 12 of the 32 zmm accumulators).
#define TK_GEMM_ISA 3
#include "attention_kernel_impl.h"

namespace tk::attention_kernels {

void get_kernels_avx512(Kernels* k, bool has_bf16) {
  (void)has_bf16;
  fill_kernels(k, "avx512 6x32 flash");
}

}  // namespace tk::attention_kernels
