// AVX2 W4A4 kernels: nibbles unpacked in registers, vpmaddubsw pair sums accumulated in int16 lanes
// for up to 64 steps before one widening (w4a4_tile_impl.h).
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

void get_kernels_avx2(Kernels* k) {
  k->name = "avx2 w4a4 4x2 (vpmaddubsw, int16 accumulation)";
  k->fits = fits_x86;
  k->block = block_x86;
  k->quantize_row = quantize_row;
  k->weight_only_rows = weight_only_rows_x86;
}

}  // namespace tk::w4a4_kernels
