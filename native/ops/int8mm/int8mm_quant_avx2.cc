// int8mm's activation quantizer and scale pass built with the avx2 unit's flags (int8mm_quant.h).
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "int8mm_quant.h"

namespace tk::int8mm_kernels {
namespace avx2 {
#include "int8mm_quant_impl.h"
}  // namespace avx2

QuantRowsFn quant_rows_avx2() { return avx2::quant_rows; }
ScaleRowFn scale_row_avx2() { return avx2::scale_row; }

}  // namespace tk::int8mm_kernels
