// AVX2 + FMA attention kernels (compiled with -mavx2 -mfma -mf16c; used only when CPUID has them):
// 6x16 register tiles for Q K^T and P V, the polynomial exp on 8 lanes, K packed with 8x8 register
// transposes (float16 / bfloat16 converted while packing, V converted as it is loaded).
#define TK_SIMD_ISA 2
#include "attention_kernel_impl.h"

namespace tk::attention_kernels {

void get_kernels_avx2(Kernels* k) { fill_kernels(k, "avx2 6x16 flash"); }

}  // namespace tk::attention_kernels
