// bitmm's CUDA index math as host + device functions (bitmm_cuda.cu uses them; the native self-test
// emulates the kernels with them on the host, native/tests/bitmm_cuda_checks.h).
//
// Planes are read as 32-bit words: row r, plane i of `bits`, word w of W2 = 2 ceil(K / 64) holds
// elements 32 w .. 32 w + 31 (bit k % 32). The tensor-core tier runs mma.m16n8k256 .b1 AND + POPC:
// one warp owns 16 rows of a x 4 n-tiles of 8 rows of b; each k step covers 256 elements = 8 words.
// Fragments (the PTX ISA's m16n8k256 .b1 tables, 32 elements per .b32 register):
//   A (row): register r of lane: row g + 8 (r & 1), words t + 4 (r >> 1) of the step    (g = lane / 4, t = lane % 4)
//   B (col): register r of lane: row (n) g, word t + 4 r of the step
//   C / D:   register r of lane: row g + 8 (r >> 1), column 2 t + (r & 1)
// Every bipolar / 0-1 mix is an AND count plus row terms (bitmm.h's identity, written out by
// bitmm_y below), so one MMA form serves all formats.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define TK_BITMM_HD __host__ __device__ __forceinline__
#else
#define TK_BITMM_HD inline
#endif

namespace tk::cubitmm {

constexpr int kWarps = 4, kThreads = 32 * kWarps;
constexpr int kWarpM = 16, kNTiles = 4;    // a warp: 16 rows x 4 n-tiles of 8 columns
constexpr int kBM = kWarps * kWarpM;       // 64 rows of a per CTA
constexpr int kBN = 8 * kNTiles;           // 32 rows of b per CTA
constexpr int kStepWords = 8;              // 256 elements per mma k step
constexpr int kSimtBM = 16, kSimtBN = 16;  // the SIMT tier: one output per thread, 16 x 16 per CTA

TK_BITMM_HD int a_row(int lane, int r) { return (lane >> 2) + 8 * (r & 1); }
TK_BITMM_HD int a_word(int lane, int r) { return (lane & 3) + 4 * (r >> 1); }
TK_BITMM_HD int b_row(int lane) { return lane >> 2; }
TK_BITMM_HD int b_word(int lane, int r) { return (lane & 3) + 4 * r; }
TK_BITMM_HD int c_row(int lane, int r) { return (lane >> 2) + 8 * (r >> 1); }
TK_BITMM_HD int c_col(int lane, int r) { return 2 * (lane & 3) + (r & 1); }

// Word w of plane i of row `row` (W2 words per plane row), or 0 past the row's end (the last k step
// reads up to 6 words past it: pad words count nothing under AND).
TK_BITMM_HD uint32_t plane_word(const uint32_t* planes, int64_t row, int i, int bits, int64_t W2, int64_t w) {
  return w < W2 ? planes[(row * bits + i) * W2 + w] : 0u;
}

// Plane weights: +2^i, the top plane of an int (two's complement) -2^(b-1).
TK_BITMM_HD int32_t plane_weight(int format, int bits, int i) {
  const int32_t w = int32_t(1) << i;
  return (format == 0 && i == bits - 1) ? -w : w;
}

// What turns S = sum_ij wa_i wb_j popcount(a_i AND b_j) into y, per operand: a plane is alpha p + beta
// (0/1: 1, 0; bipolar: 2, -1), so  y = alpha_a alpha_b S + alpha_a beta_b sum_wb Ca[m]
//   + beta_a alpha_b sum_wa Cb[n] + beta_a beta_b K sum_wa sum_wb,  with Ca[m] = sum_i wa_i popcount(a_i[m]).
// Evaluated modulo 2^32: exact, since |y| <= 2^31 - 1 (bitmm_validate).
struct YTerms {
  uint32_t f = 1, ca = 0, cb = 0, k = 0;  // y = f S + ca Ca[m] + cb Cb[n] + k
};

TK_BITMM_HD YTerms y_terms(int a_format, int ba, int b_format, int bb, int64_t K) {
  int32_t sa = 0, sb = 0;
  for (int i = 0; i < ba; ++i) sa += plane_weight(a_format, ba, i);
  for (int j = 0; j < bb; ++j) sb += plane_weight(b_format, bb, j);
  const int32_t aa = a_format == 2 ? 2 : 1, ab = b_format == 2 ? 2 : 1, ba_ = a_format == 2 ? -1 : 0, bb_ = b_format == 2 ? -1 : 0;
  YTerms t;
  t.f = uint32_t(aa * ab);
  t.ca = uint32_t(aa * bb_ * sb);
  t.cb = uint32_t(ba_ * ab * sa);
  t.k = uint32_t(ba_ * bb_) * uint32_t(K) * uint32_t(sa) * uint32_t(sb);
  return t;
}

TK_BITMM_HD int32_t bitmm_y(const YTerms& t, uint32_t S, uint32_t Ca, uint32_t Cb) {
  return int32_t(t.f * S + t.ca * Ca + t.cb * Cb + t.k);
}

}  // namespace tk::cubitmm
