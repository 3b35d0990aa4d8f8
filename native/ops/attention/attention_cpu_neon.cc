// NEON attention kernels (AArch64): the shared tile kernel on 4-lane vectors, 6x8 register tiles.
#define TK_SIMD_ISA 4
#include "attention_kernel_impl.h"

namespace tk::attention_kernels {

void get_kernels_neon(Kernels* k) { fill_kernels(k, "neon 6x8 flash"); }

}  // namespace tk::attention_kernels
