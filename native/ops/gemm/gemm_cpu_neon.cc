// NEON kernels (AArch64): the float 8x12 microkernel and skinny kernels from the shared templates;
// int8 through the portable pair kernel, which the compiler vectorizes with NEON.
#define TK_SIMD_ISA 4
#include "gemm_configs.h"
#include "gemm_kernel_impl.h"

namespace tk::gemm_kernels {

void get_kernels_neon(IsaKernels* k) {
  constexpr BlockConfig f = kNeonF32;
  k->f32 = {"neon f32 8x12",
            f.mr,
            f.nr,
            f.kc,
            f.mc,
            f.nc,
            a_panel_bytes_f32<f.mr>,
            b_panel_bytes_f32<f.nr>,
            pack_a_f32<f.mr>,
            pack_b_f32<f.nr>,
            ukr_f32<f.mr, f.nr / kW>};
  constexpr BlockConfig q = kScalarI8;
  k->i8 = {"neon int8 4x8",
           q.mr,
           q.nr,
           q.kc,
           q.mc,
           q.nc,
           a_panel_bytes_i8pair<q.mr>,
           b_panel_bytes_i8pair<q.nr>,
           pack_a_i8pair<q.mr>,
           pack_b_i8pair<q.nr>,
           ukr_i8pair_portable<q.mr, q.nr>};
  k->skinny = {"neon skinny", kSkinnyMaxMNN, kSkinnyMaxMNT, skinny_run};
  k->skinny_i8 = {"neon int8 skinny", kSkinnyI8MaxM, skinny_i8_run};
}

}  // namespace tk::gemm_kernels
