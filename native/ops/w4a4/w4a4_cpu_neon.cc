// arm64: the portable kernel for now (compiled with the NEON unit's flags so the compiler may
// vectorize it). A dedicated SDOT (vdotq_s32) kernel on the same activation layout is the next step.
#include "w4a4_kernels.h"

namespace tk::w4a4_kernels {

void get_kernels_neon(Kernels* k) {
  get_kernels_scalar(k);
  k->name = "neon w4a4 (portable kernel)";
}

}  // namespace tk::w4a4_kernels
