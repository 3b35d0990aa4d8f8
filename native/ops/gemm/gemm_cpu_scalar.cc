// Portable kernels: no ISA flags, vectorized by the compiler with the baseline SIMD. The fallback on
// any CPU, and the reference the ISA kernels are tested against.
#define TK_SIMD_ISA 1
#include "gemm_configs.h"
#include "gemm_kernel_impl.h"

namespace tk::gemm_kernels {

void get_kernels_scalar(IsaKernels* k) {
  constexpr BlockConfig f = kScalarF32;
  constexpr int NV = f.nr / kW;
  k->f32 = {
      "scalar f32 4x8", f.mr, f.nr, f.kc, f.mc, f.nc, a_panel_bytes_f32<f.mr>, b_panel_bytes_f32<f.nr>, pack_a_f32<f.mr>, pack_b_f32<f.nr>,
      ukr_f32<f.mr, NV>};
  constexpr BlockConfig q = kScalarI8;
  k->i8 = {"scalar int8 4x8",
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
  k->skinny = {"scalar skinny", kSkinnyMaxMNN, kSkinnyMaxMNT, skinny_run};
  k->skinny_i8 = {"scalar int8 skinny", kSkinnyI8MaxM, skinny_i8_run};
}

}  // namespace tk::gemm_kernels
