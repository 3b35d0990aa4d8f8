// int8mm's activation quantizer, portable build, and the pick for the active ISA (int8mm_quant.h).
#include "int8mm_quant.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "../../core/cpu_features.h"

namespace tk::int8mm_kernels {
namespace scalar {
#include "int8mm_quant_impl.h"
}  // namespace scalar

QuantRowsFn quant_rows_scalar() { return scalar::quant_rows; }
ScaleRowFn scale_row_scalar() { return scalar::scale_row; }

ScaleRowFn scale_row_for_active_isa() {
  switch (active_isa()) {
#if defined(__x86_64__) || defined(_M_X64)
    case Isa::kAvx512: return scale_row_avx512();
    case Isa::kAvx2: return scale_row_avx2();
#endif
#if defined(__aarch64__)
    case Isa::kNeon: return scale_row_neon();
#endif
    default: return scale_row_scalar();
  }
}

QuantRowsFn quant_rows_for_active_isa() {
  switch (active_isa()) {
#if defined(__x86_64__) || defined(_M_X64)
    case Isa::kAvx512: return quant_rows_avx512();
    case Isa::kAvx2: return quant_rows_avx2();
#endif
#if defined(__aarch64__)
    case Isa::kNeon: return quant_rows_neon();
#endif
    default: return quant_rows_scalar();
  }
}

const char* quant_rows_isa_name() {
  const QuantRowsFn f = quant_rows_for_active_isa();
#if defined(__x86_64__) || defined(_M_X64)
  if (f == quant_rows_avx512()) return "avx512";
  if (f == quant_rows_avx2()) return "avx2";
#endif
#if defined(__aarch64__)
  if (f == quant_rows_neon()) return "neon";
#endif
  return "scalar";
}

}  // namespace tk::int8mm_kernels
