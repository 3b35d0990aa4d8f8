// int8mm's activation quantizer and scale pass built with the neon unit's flags (int8mm_quant.h).
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "int8mm_quant.h"

namespace tk::int8mm_kernels {
namespace neon {
#include "int8mm_quant_impl.h"
}  // namespace neon

QuantRowsFn quant_rows_neon() { return neon::quant_rows; }
ScaleRowFn scale_row_neon() { return neon::scale_row; }

}  // namespace tk::int8mm_kernels
