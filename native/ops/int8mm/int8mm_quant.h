// The per-token activation quantizer of int8mm (the contract quantizer of w4a4.h at 8 bits, bit for
// bit), fused with the outlier scan: one read of each row for max|x| and the count of |x| >= thr,
// then the int8 values while the row is still in L1. One build per ISA (the same source compiled with
// each unit's flags; only IEEE div, add, sub and compares, so every width gives the same bits).
#pragma once
#include <cstdint>

namespace tk::int8mm_kernels {

// Rows [m0, m1) of x [*, K]: sx[m] = max|x[m, :]| / 127 (NaN when the row holds NaN or Inf),
// q[m, k] = clamp(round_half_even(x / sx), -128, 127) (0 for a zero or non-finite row);
// hit[m] = 1 when some |x[m, k]| >= thr (thr = +Inf: never), else 0.
using QuantRowsFn = void (*)(const float* x, int64_t K, int64_t m0, int64_t m1, float thr, int8_t* q, float* sx, uint8_t* hit);

QuantRowsFn quant_rows_scalar();
QuantRowsFn quant_rows_avx2();
QuantRowsFn quant_rows_avx512();
QuantRowsFn quant_rows_neon();
// The build for active_isa().
QuantRowsFn quant_rows_for_active_isa();
// y[j] = fround(sm * sw[j]) * fround(acc[j]) for j < n: the product's scales (int8mm's step 4), with
// the unit's vectors (two IEEE multiplies, the same bits at every width).
using ScaleRowFn = void (*)(const int32_t* acc, const float* sw, float sm, int64_t n, float* y);
ScaleRowFn scale_row_scalar();
ScaleRowFn scale_row_avx2();
ScaleRowFn scale_row_avx512();
ScaleRowFn scale_row_neon();
ScaleRowFn scale_row_for_active_isa();
// Its name, for the kernel record ("avx512", "avx2", "neon", "scalar").
const char* quant_rows_isa_name();

}  // namespace tk::int8mm_kernels
