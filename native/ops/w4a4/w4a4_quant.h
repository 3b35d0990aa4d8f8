// The per-token activation quantizer of the W4A4 contract (w4a4.h), shared by the driver and the
// plain loop. Portable code, no ISA flags: its float arithmetic is the contract's, bit for bit.
#pragma once
#include <cstdint>

namespace tk::w4a4_quant {

// In-place block Hadamard transform of v[0, K): butterflies h = 1, 2, 4, ... < block in float32,
// then a multiply by fround(1 / sqrt(block)). K is a multiple of block.
void hadamard_rows(float* v, int64_t K, int64_t block);

struct RowOut {
  int8_t* q = nullptr;  // K values, at qa_index(k) when `chunked`, else at k (Kp with padding when chunked)
  bool chunked = true;
  float* scale = nullptr;
  int32_t* corr = nullptr;  // optional [G]: 8 * sum_{k in g} q
  int64_t gs = 0;
  int8_t* qo = nullptr;  // optional [nO] outlier channels at int8
  float* so = nullptr;
};

// Quantizes one row x[0, K) (outlier channels zeroed first, then rotated when block > 0) with
// qmax = 7 (bits 4) or 127 (bits 8). `buf` holds K floats.
void quantize_row(const float* x, int64_t K, int bits, int64_t block, const int32_t* oidx, int64_t nO, float* buf, const RowOut& o);

// Lays out an already quantized row q[0, K) (quantizeActivationsInt4's output) as quantize_row does,
// with its corrections. Returns false when a value is outside [qmin, qmax] for `bits` (the kernels'
// exact int16 accumulation depends on the range).
bool pack_row(const int8_t* q, int64_t K, int bits, float scale, const RowOut& o);

}  // namespace tk::w4a4_quant
