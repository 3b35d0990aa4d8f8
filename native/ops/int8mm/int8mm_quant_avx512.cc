// int8mm's activation quantizer and scale pass built with the avx512 unit's flags (int8mm_quant.h).
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "int8mm_quant.h"

namespace tk::int8mm_kernels {
namespace avx512 {
#include "int8mm_quant_impl.h"
}  // namespace avx512

QuantRowsFn quant_rows_avx512() { return avx512::quant_rows; }
ScaleRowFn scale_row_avx512() { return avx512::scale_row; }

}  // namespace tk::int8mm_kernels
