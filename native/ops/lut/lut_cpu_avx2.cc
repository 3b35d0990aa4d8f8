// AVX2 LUT kernel: a quad's 16 float32 partial sums as two ymm halves; each half of a block's 16
// rows indexes both with vpermps (3 low bits) and picks by bit 3 of the nibble (vblendvps on the
// nibble shifted into the sign bit).
#include <immintrin.h>

#include "lut_kernels.h"

namespace tk::lut_kernels {
namespace {

inline __m256 lookup(__m256i idx, const float* T) {
  const __m256 lo = _mm256_permutevar8x32_ps(_mm256_loadu_ps(T), idx);
  const __m256 hi = _mm256_permutevar8x32_ps(_mm256_loadu_ps(T + 8), idx);
  return _mm256_blendv_ps(lo, hi, _mm256_castsi256_ps(_mm256_slli_epi32(idx, 28)));
}

template <int B, int MT>
void block(const Args& a, int64_t nb, int64_t m0) {
  const uint32_t* blk = a.planes + nb * a.KC * B * 16;
  const float* sc = a.scales + nb * a.G * 16;
  const float* T[MT];
  const float* xs[MT];
  constexpr int NA = MT == 1 ? 2 : 1;  // independent sums (by quad parity): >= 4 FMA chains
  __m256 y[MT][2], acc[MT][2][NA];
  for (int t = 0; t < MT; ++t) {
    T[t] = a.tables + (m0 + t) * a.KQ * 16;
    xs[t] = a.xsum + (m0 + t) * a.G;
    for (int h = 0; h < 2; ++h) {
      y[t][h] = _mm256_setzero_ps();
      for (int i = 0; i < NA; ++i) acc[t][h][i] = _mm256_setzero_ps();
    }
  }
  auto quad = [&](int64_t kc, int j, int64_t qi) {
    const uint32_t* wv = blk + kc * B * 16;
    const __m128i sh = _mm_cvtsi32_si128(4 * j);
#pragma GCC unroll 4
    for (int p = 0; p < B; ++p) {
      const __m256 wp = _mm256_set1_ps(plane_weight(B, p));
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const __m256i idx = _mm256_srl_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wv + p * 16 + 8 * h)), sh);
#pragma GCC unroll 2
        for (int t = 0; t < MT; ++t) acc[t][h][j % NA] = _mm256_fmadd_ps(lookup(idx, T[t] + qi * 16), wp, acc[t][h][j % NA]);
      }
    }
  };
  auto whole_word = [&](int64_t kc) {
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) quad(kc, j, kc * 8 + j);
  };
  auto group_end = [&](int64_t g) {
    for (int h = 0; h < 2; ++h) {
      const __m256 s = _mm256_loadu_ps(sc + g * 16 + 8 * h);
      for (int t = 0; t < MT; ++t) {
        __m256 v = acc[t][h][0];
        for (int i = 1; i < NA; ++i) v = _mm256_add_ps(v, acc[t][h][i]);
        if (B != 1) v = _mm256_fmadd_ps(_mm256_set1_ps(xs[t][g]), _mm256_set1_ps(plane_offset(B)), v);
        y[t][h] = _mm256_fmadd_ps(v, s, y[t][h]);
        for (int i = 0; i < NA; ++i) acc[t][h][i] = _mm256_setzero_ps();
      }
    }
  };
  walk_quads(a, whole_word, quad, group_end);
  alignas(32) float r[16];
  for (int t = 0; t < MT; ++t) {
    _mm256_store_ps(r, y[t][0]);
    _mm256_store_ps(r + 8, y[t][1]);
    store_block(a, m0 + t, nb, r);
  }
}

void rows(const Args& a, int64_t nb0, int64_t nb1) {
  with_bits(a.bits, [&](auto b) {
    constexpr int B = decltype(b)::value;
    token_pairs(a, nb0, nb1, [&](int64_t nb, int64_t m0, bool two) { two ? block<B, 2>(a, nb, m0) : block<B, 1>(a, nb, m0); });
  });
}

}  // namespace

void get_kernels_avx2(Kernels* k) {
  k->name = "avx2 lut (2x vpermps + blend, float32 tables)";
  k->rows = rows;
}

}  // namespace tk::lut_kernels
