// The CPU LUT kernels' arguments and entry points, one per ISA family (lut_cpu_<isa>.cc), chosen by
// lut_cpu.cc from CPUID. Each computes row blocks [nb0, nb1) of 16 weight rows for every token and
// writes out through the epilogue. Per group g of row n and token m:
//   acc = sum_p w_p * sum_{quads j of g} T[m, j][nibble_p(n, j)],   y += s[n, g] * (acc + o * xsum[m, g])
// with w_p = 2^(p-1), o = -1/2 for b >= 2 (u = q + 2^(b-1)) and w_0 = 1, o = 0 for b = 1 (q = 2u - 1).
#pragma once
#include <cstdint>
#include <type_traits>

#include "../quant_common/matmul_epilogue.h"

namespace tk::lut_kernels {

struct Args {
  const uint32_t* planes;  // the bit planes (lut.h), as u32 words
  const float* scales;     // [NB][G][16]
  const float* tables;     // [M][KQ][16]: entry i of quad qi = sum_t (bit t of i ? x : -x)[quad's t-th k] (0 past the group)
  const float* xsum;       // [M][G]: the sum of x over each group (the offset correction, b >= 2)
  int64_t M, N, G, Qg, KQ, KC, bits;
  MatmulEpilogue epi;
  float* out;  // [M, N]
};

using RowsFn = void (*)(const Args& a, int64_t nb0, int64_t nb1);

struct Kernels {
  const char* name = "";
  RowsFn rows = nullptr;
};

inline float plane_weight(int64_t bits, int p) { return bits == 1 ? 1.0f : float(1 << p) * 0.5f; }
inline float plane_offset(int64_t bits) { return bits == 1 ? 0.0f : -0.5f; }

// Token m's results y[r] for rows 16 nb + r (r < 16, rows < N) into out, through the epilogue.
inline void store_block(const Args& a, int64_t m, int64_t nb, const float* y) {
  const int64_t n0 = nb * 16, n1 = n0 + 16 < a.N ? n0 + 16 : a.N;
  float* o = a.out + m * a.N;
  for (int64_t n = n0; n < n1; ++n) o[n] = a.epi(m, n, y[n - n0]);
}

// Walks the quads of a row block in order, calling quad(kc, j, qi) for each and group_end(g) after
// the last quad of group g. The common case (every group a whole number of 8-quad words) takes the
// branch-free path: whole_word(kc) for each word, then group_end.
template <class Word, class Quad, class End>
inline void walk_quads(const Args& a, Word&& whole_word, Quad&& quad, End&& group_end) {
  if (a.Qg % 8 == 0) {
    const int64_t wpg = a.Qg / 8;
    for (int64_t g = 0; g < a.G; ++g) {
      for (int64_t kc = g * wpg; kc < (g + 1) * wpg; ++kc) whole_word(kc);
      group_end(g);
    }
    return;
  }
  int64_t g = 0, next = a.Qg;
  for (int64_t qi = 0; qi < a.KQ; ++qi) {
    quad(qi >> 3, int(qi & 7), qi);
    if (qi + 1 == next) {
      group_end(g);
      ++g;
      next += a.Qg;
    }
  }
}

// f(std::integral_constant<int, B>{}) for B = bits (1..4): every kernel is compiled per width.
template <class F>
inline void with_bits(int64_t bits, F&& f) {
  switch (bits) {
    case 1: f(std::integral_constant<int, 1>{}); break;
    case 2: f(std::integral_constant<int, 2>{}); break;
    case 3: f(std::integral_constant<int, 3>{}); break;
    default: f(std::integral_constant<int, 4>{}); break;
  }
}

// Row blocks [nb0, nb1) in tiles of 32 (their planes stay in L2 while the tokens pass), tokens two
// at a time: blk(nb, m0, two) with two = whether token m0 + 1 exists.
template <class Blk>
inline void token_pairs(const Args& a, int64_t nb0, int64_t nb1, Blk&& blk) {
  constexpr int64_t R = 32;
  for (int64_t r0 = nb0; r0 < nb1; r0 += R) {
    const int64_t r1 = r0 + R < nb1 ? r0 + R : nb1;
    for (int64_t m0 = 0; m0 < a.M; m0 += 2)
      for (int64_t nb = r0; nb < r1; ++nb) blk(nb, m0, a.M - m0 >= 2);
  }
}

// Tokens per pass over a row block (tables of that many tokens stay in L1 / L2).
constexpr int kTokens = 4;

void get_kernels_scalar(Kernels* k);
void get_kernels_avx2(Kernels* k);
void get_kernels_avx512(Kernels* k);
void get_kernels_neon(Kernels* k);

}  // namespace tk::lut_kernels
