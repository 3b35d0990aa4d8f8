// The CPU W4A4 kernel interface: what each ISA translation unit provides to the driver (w4a4_cpu.cc).
//
// Activation layout (written by the driver's fused quantize pass): each row of X becomes Kp =
// roundup(K, 64) int8 values, in 64-wide chunks that hold the even k of the chunk first, then the
// odd k: byte j of the first half is k = 2j, of the second half k = 2j + 1. That is the order in
// which the low and high nibbles of 32 packed weight bytes fall out, so one AND and one shift unpack
// a 64-k step of weights into two vectors that line up with the activations, with no shuffles.
// Padding (k >= K) is zero, so whatever weight byte meets it contributes nothing.
#pragma once
#include <cstdint>

#include "../quant_common/matmul_epilogue.h"
#include "w4a4_quant.h"

namespace tk::w4a4_kernels {

struct IntArgs {
  const int8_t* qa;  // [M, Kp] quantized activations, chunk layout above
  int64_t Kp;
  const int32_t* corr;  // [M, G]: 8 * sum_{k in g} q_x (the offset correction, see the kernels)
  const uint8_t* w;     // [N, K/2] packed weights, docs/design.md, Data conventions nibble order
  int64_t K;
  const float* ws;  // [N, G] weight scales
  int64_t G, gs;
  float* out;  // out[m, n] = sum_g ws[n, g] * sum_{k in g} q_x[m, k] q_w[n, k]
  int64_t ldo;
  int act_bits;   // 4 or 8
  bool prefetch;  // software-prefetch the weight rows (few activation rows: weights stream from memory)
};

struct WeightOnlyArgs {
  const float* x;  // [M, K] float32
  int64_t M, K;
  const uint8_t* w;  // [N, K/2] packed
  const float* ws;   // [N, G]
  const int8_t* zp;  // [N, G] or null
  int64_t gs;
  tk::MatmulEpilogue epi;  // alpha, bias, beta * c
  float* out;              // [M, ldo]
  int64_t ldo;
};
using WeightOnlyFn = void (*)(const WeightOnlyArgs& a, int64_t n0, int64_t n1, float* buf);

struct Kernels {
  const char* name = nullptr;
  // Whether `block` takes this group size (else the driver uses the scalar table's).
  bool (*fits)(int64_t gs, int64_t K) = nullptr;
  // Rows [m0, m1) x columns [n0, n1) of out, all of K.
  void (*block)(const IntArgs& a, int64_t m0, int64_t m1, int64_t n0, int64_t n1) = nullptr;
  // The contract quantizer (w4a4_quant.h) built with this ISA's flags: the same bits, vectorized.
  void (*quantize_row)(const float* x, int64_t K, int bits, int64_t block, const int32_t* oidx, int64_t nO, float* buf,
                       const w4a4_quant::RowOut& o) = nullptr;
  // Weight-only decode rows (w4a4_weight_only_impl.h) built with this ISA's flags.
  WeightOnlyFn weight_only_rows = nullptr;
};

void get_kernels_scalar(Kernels* k);
void get_kernels_avx2(Kernels* k);
void get_kernels_avx512(Kernels* k);  // needs AVX-512 VL + VNNI
void get_kernels_neon(Kernels* k);

// The portable block, any even group size (the scalar table, and the fallback of the others).
void block_portable(const IntArgs& a, int64_t m0, int64_t m1, int64_t n0, int64_t n1);

// Position of k inside a quantized activation row.
inline int64_t qa_index(int64_t k) { return (k & ~int64_t(63)) + ((k & 1) << 5) + ((k & 63) >> 1); }

}  // namespace tk::w4a4_kernels
