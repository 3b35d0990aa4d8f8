// Portable attention kernels: no ISA flags, the compiler vectorizes with the baseline SIMD. The
// fallback on any CPU, and the reference the ISA kernels are tested against.
#define TK_SIMD_ISA 1
#include "attention_kernel_impl.h"

namespace tk::attention_kernels {

void get_kernels_scalar(Kernels* k) { fill_kernels(k, "scalar 6x8 flash"); }

}  // namespace tk::attention_kernels
