// The portable build of the contract quantizer (w4a4_quant_impl.h).
#include "w4a4_quant.h"

#include <cfloat>
#include <cmath>
#include <cstring>

#include "w4a4_kernels.h"

namespace tk::w4a4_quant {
#include "w4a4_quant_impl.h"
}  // namespace tk::w4a4_quant
