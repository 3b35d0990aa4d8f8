// AVX-512 LUT kernel: a quad's 16 float32 partial sums fill one zmm; the 16 rows of a block index it
// at once with vpermps (each u32 lane of a plane word, shifted by 4j, brings its nibble j into the
// low 4 bits vpermps reads). Per plane and token: one shift, one vpermps, one FMA per 4 k x 16 rows.
#include <immintrin.h>

#include "lut_kernels.h"

namespace tk::lut_kernels {
namespace {

template <int B, int MT>
void block(const Args& a, int64_t nb, int64_t m0) {
  const uint32_t* blk = a.planes + nb * a.KC * B * 16;
  const float* sc = a.scales + nb * a.G * 16;
  const float* T[MT];
  const float* xs[MT];
  __m512 y[MT], acc[MT];
  for (int t = 0; t < MT; ++t) {
    T[t] = a.tables + (m0 + t) * a.KQ * 16;
    xs[t] = a.xsum + (m0 + t) * a.G;
    y[t] = _mm512_setzero_ps();
    acc[t] = _mm512_setzero_ps();
  }
  __m512 wp[B];
  for (int p = 0; p < B; ++p) wp[p] = _mm512_set1_ps(plane_weight(B, p));
  const __m512 off = _mm512_set1_ps(plane_offset(B));
  auto whole_word = [&](int64_t kc) {
    const uint32_t* wv = blk + kc * B * 16;
    const int64_t q0 = kc * 8 * 16;
    for (int p = 0; p < B; ++p) {
      const __m512i w = _mm512_loadu_si512(wv + p * 16);
#define TK_LUT_STEP(j)                                                                              \
  {                                                                                                 \
    const __m512i idx = (j) ? _mm512_srli_epi32(w, 4 * (j)) : w;                                    \
    for (int t = 0; t < MT; ++t)                                                                    \
      acc[t] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, _mm512_loadu_ps(T[t] + q0 + (j) * 16)), wp[p], acc[t]); \
  }
      TK_LUT_STEP(0) TK_LUT_STEP(1) TK_LUT_STEP(2) TK_LUT_STEP(3) TK_LUT_STEP(4) TK_LUT_STEP(5) TK_LUT_STEP(6) TK_LUT_STEP(7)
#undef TK_LUT_STEP
    }
  };
  auto quad = [&](int64_t kc, int j, int64_t qi) {
    const uint32_t* wv = blk + kc * B * 16;
    const __m128i sh = _mm_cvtsi32_si128(4 * j);
    for (int p = 0; p < B; ++p) {
      const __m512i idx = _mm512_srl_epi32(_mm512_loadu_si512(wv + p * 16), sh);
      for (int t = 0; t < MT; ++t)
        acc[t] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, _mm512_loadu_ps(T[t] + qi * 16)), wp[p], acc[t]);
    }
  };
  auto group_end = [&](int64_t g) {
    const __m512 s = _mm512_loadu_ps(sc + g * 16);
    for (int t = 0; t < MT; ++t) {
      const __m512 v = B == 1 ? acc[t] : _mm512_fmadd_ps(_mm512_set1_ps(xs[t][g]), off, acc[t]);
      y[t] = _mm512_fmadd_ps(v, s, y[t]);
      acc[t] = _mm512_setzero_ps();
    }
  };
  walk_quads(a, whole_word, quad, group_end);
  alignas(64) float r[16];
  for (int t = 0; t < MT; ++t) {
    _mm512_store_ps(r, y[t]);
    store_block(a, m0 + t, nb, r);
  }
}

template <int B>
void rows_b(const Args& a, int64_t nb0, int64_t nb1) {
  constexpr int64_t R = 32;  // row blocks per tile: their planes stay in L2 while the tokens pass
  for (int64_t r0 = nb0; r0 < nb1; r0 += R) {
    const int64_t r1 = r0 + R < nb1 ? r0 + R : nb1;
    for (int64_t m0 = 0; m0 < a.M; m0 += 4) {
      const int64_t mt = a.M - m0 < 4 ? a.M - m0 : 4;
      for (int64_t nb = r0; nb < r1; ++nb) {
        switch (mt) {
          case 1: block<B, 1>(a, nb, m0); break;
          case 2: block<B, 2>(a, nb, m0); break;
          case 3: block<B, 3>(a, nb, m0); break;
          default: block<B, 4>(a, nb, m0); break;
        }
      }
    }
  }
}

void rows(const Args& a, int64_t nb0, int64_t nb1) {
  switch (a.bits) {
    case 1: rows_b<1>(a, nb0, nb1); break;
    case 2: rows_b<2>(a, nb0, nb1); break;
    case 3: rows_b<3>(a, nb0, nb1); break;
    default: rows_b<4>(a, nb0, nb1); break;
  }
}

}  // namespace

void get_kernels_avx512(Kernels* k) {
  k->name = "avx512 lut (vpermps, float32 tables)";
  k->rows = rows;
}

}  // namespace tk::lut_kernels
