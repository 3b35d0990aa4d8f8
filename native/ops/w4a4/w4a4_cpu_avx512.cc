// AVX-512 VNNI W4A4 kernels: the same tile and activation layout as AVX2, with vpdpbusd (256-bit,
// AVX512VL) accumulating the unsigned-weight x signed-activation products straight into int32 --
// no int16 stage and no widening. Only called when CPUID reports AVX512VL and VNNI.
#define TK_W4A4_VNNI 1
#include <immintrin.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "w4a4_kernels.h"
#include "w4a4_quant.h"

namespace tk::w4a4_kernels {
namespace {
#include "w4a4_weight_only_impl.h"
#include "w4a4_tile_impl.h"
using w4a4_quant::RowOut;
#include "w4a4_quant_impl.h"
}  // namespace

void get_kernels_avx512(Kernels* k) {
  k->name = "avx512-vnni w4a4 4x2 (vpdpbusd)";
  k->fits = fits_x86;
  k->block = block_x86;
  k->quantize_row = quantize_row;
  k->weight_only_rows = weight_only_rows_x86;
}

}  // namespace tk::w4a4_kernels
