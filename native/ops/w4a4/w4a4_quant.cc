// The portable build of the contract quantizer (w4a4_quant_impl.h).
#include "w4a4_quant.h"

#include <cfloat>
#include <cmath>
#include <cstring>

#include "w4a4_kernels.h"

namespace tk::w4a4_quant {
#include "w4a4_quant_impl.h"
}  // namespace tk::w4a4_quant

namespace tk::w4a4_quant {

bool pack_row(const int8_t* q, int64_t K, int bits, float scale, const RowOut& o) {
  const int lo = bits == 8 ? -128 : -8, hi = bits == 8 ? 127 : 7;
  for (int64_t k = 0; k < K; ++k)
    if (q[k] < lo || q[k] > hi) return false;
  *o.scale = scale;
  const int64_t full = K & ~int64_t(63);
  if (((K + 63) & ~int64_t(63)) > K) std::memset(o.q + full, 0, 64);
  for (int64_t k = 0; k < K; k += 2) {
    const int64_t i = w4a4_kernels::qa_index(k);
    o.q[i] = q[k];
    o.q[i + 32] = q[k + 1];
  }
  if (o.corr) {
    for (int64_t g = 0; g < K / o.gs; ++g) {
      int32_t sum = 0;
      for (int64_t k = g * o.gs; k < (g + 1) * o.gs; ++k) sum += q[k];
      o.corr[g] = 8 * sum;
    }
  }
  return true;
}

}  // namespace tk::w4a4_quant
