// AVX-512 VNNI W4A4 kernels: the same tile and activation layout as AVX2, with vpdpbusd (256-bit,
// AVX512VL) accumulating the unsigned-weight x signed-activation products straight into int32 --
// no int16 stage and no widening. Only called when CPUID reports AVX512VL and VNNI.
#define TK_W4A4_VNNI 1
#include <immintrin.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "w4a4_kernels.h"
#include "w4a4_quant.h"

namespace tk::w4a4_kernels {
namespace {
#include "w4a4_weight_only_impl.h"
#include "w4a4_tile_impl.h"
using w4a4_quant::RowOut;
#include "w4a4_quant_impl.h"

// Decode tiles on full 512-bit vectors (few activation rows: the weights stream from memory once).
// One step is 128 k: 64 weight bytes per row, unpacked to the even-k (low nibble) and odd-k (high
// nibble) bytes, against the activations' even and odd values of two 64-k chunks (the layout of
// w4a4_kernels.h, gathered with two vshufi64x2 per row and step). Groups of 128 are one step: each
// step's sum is corrected, converted and scaled into a float accumulator at once, so the only
// persistent registers are MR x NR float accumulators and the vpdpbusd pairs of different weight rows
// are independent (the 256-bit tile's few long chains left M = 1 latency-bound at ~17 GB/s a core).
// Per channel (one group) the int32 sums run over all of K instead. Needs K % 128 == 0.
template <int MR, int NR, bool CHANNEL>
void tile_z(const tk::w4a4_kernels::IntArgs& a, int64_t m0, int64_t n0) {
  const int64_t rowbytes = a.K / 2, S = a.K / 128;
  const __m512i m4 = _mm512_set1_epi8(0x0F), x88 = _mm512_set1_epi8(static_cast<char>(0x88));
  const uint8_t* wr[NR];
  for (int n = 0; n < NR; ++n) wr[n] = a.w + (n0 + n) * rowbytes;
  __m512 accf[MR][NR];
  __m512i acci[CHANNEL ? MR : 1][CHANNEL ? NR : 1];
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NR; ++n) accf[m][n] = _mm512_setzero_ps();
  if constexpr (CHANNEL)
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) acci[m][n] = _mm512_setzero_si512();
  for (int64_t st = 0; st < S; ++st) {
    __m512i xe[MR], xo[MR], cv[MR];
    for (int m = 0; m < MR; ++m) {
      const int8_t* xr = a.qa + (m0 + m) * a.Kp + st * 128;
      const __m512i c0 = _mm512_load_si512(xr), c1 = _mm512_load_si512(xr + 64);
      xe[m] = _mm512_shuffle_i64x2(c0, c1, _MM_SHUFFLE(1, 0, 1, 0));
      xo[m] = _mm512_shuffle_i64x2(c0, c1, _MM_SHUFFLE(3, 2, 3, 2));
      if constexpr (!CHANNEL) cv[m] = _mm512_castsi128_si512(_mm_cvtsi32_si128(-a.corr[(m0 + m) * a.G + st]));
    }
    for (int n = 0; n < NR; ++n) {
      // The same step of the next tile's rows (NR rows below), as the 256-bit tiles do.
      _mm_prefetch(reinterpret_cast<const char*>(wr[n] + NR * rowbytes + st * 64), _MM_HINT_T0);
      const __m512i b = _mm512_xor_si512(_mm512_loadu_si512(wr[n] + st * 64), x88);
      const __m512i lo = _mm512_and_si512(b, m4), hi = _mm512_and_si512(_mm512_srli_epi16(b, 4), m4);
      if constexpr (CHANNEL) {
        for (int m = 0; m < MR; ++m) acci[m][n] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acci[m][n], lo, xe[m]), hi, xo[m]);
      } else {
        const __m512 s = _mm512_set1_ps(a.ws[(n0 + n) * a.G + st]);
        for (int m = 0; m < MR; ++m) {
          // One chain of two vpdpbusd per (row, weight row) when there are enough of them to cover
          // its latency (MR x NR >= 8); a single row splits it in two and adds.
          const __m512i t =
              MR >= 2 ? _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(cv[m], lo, xe[m]), hi, xo[m])
                      : _mm512_add_epi32(_mm512_dpbusd_epi32(cv[m], lo, xe[m]), _mm512_dpbusd_epi32(_mm512_setzero_si512(), hi, xo[m]));
          accf[m][n] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t), s, accf[m][n]);
        }
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NR; ++n) {
      float v;
      if constexpr (CHANNEL) {
        const __m512i c = _mm512_castsi128_si512(_mm_cvtsi32_si128(a.corr[m0 + m]));
        v = a.ws[n0 + n] * static_cast<float>(_mm512_reduce_add_epi32(_mm512_sub_epi32(acci[m][n], c)));
      } else {
        v = _mm512_reduce_add_ps(accf[m][n]);
      }
      a.out[(m0 + m) * a.ldo + n0 + n] = v;
    }
}

using ZTile = void (*)(const tk::w4a4_kernels::IntArgs&, int64_t, int64_t);
constexpr int z_nr(int mr) { return mr == 1 ? 8 : 4; }

template <bool CHANNEL>
ZTile pick_z(int mr) {
  static const ZTile t[4] = {tile_z<1, z_nr(1), CHANNEL>, tile_z<2, z_nr(2), CHANNEL>, tile_z<3, z_nr(3), CHANNEL>,
                             tile_z<4, z_nr(4), CHANNEL>};
  return t[mr - 1];
}

// Few rows, K a multiple of 128, per channel or groups of 128: the 512-bit tiles (weight rows past a
// whole tile go to the 256-bit ones); anything else: the shared x86 tiles.
void block_avx512(const tk::w4a4_kernels::IntArgs& a, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const bool channel = a.G == 1;
  if (!a.prefetch || a.K % 128 != 0 || !(channel || a.gs == 128)) return block_x86(a, m0, m1, n0, n1);
  for (int64_t m = m0; m < m1; m += 4) {
    const int mr = static_cast<int>(std::min<int64_t>(4, m1 - m));
    const int nr = z_nr(mr);
    const ZTile f = channel ? pick_z<true>(mr) : pick_z<false>(mr);
    int64_t n = n0;
    for (; n + nr <= n1; n += nr) f(a, m, n);
    if (n < n1) block_x86(a, m, m + mr, n, n1);
  }
}
// Weight-only decode rows (int4Matmul, up to 8 rows, groups that are multiples of 64) on 512-bit
// vectors: the 256-bit unpack of 64 weights (w4a4_tile_impl.h), then each 16 of them widened to a zmm
// of floats once and multiplied into every row's accumulators (C per row, so a single row's FMA
// chains still cover the latency); each group's sum scaled into a per-row vector accumulator, one
// horizontal sum per output. The 256-bit loop spent about 38 instructions per 64 weights against
// 22 here. Other shapes go to the shared x86 loop.
template <int M>
void weight_only_rows_z(const tk::w4a4_kernels::WeightOnlyArgs& a, int64_t n0, int64_t n1) {
  constexpr int C = M == 1 ? 4 : M == 2 ? 2 : 1;
  const int64_t half = a.K / 2, G = a.K / a.gs;
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* wr = a.w + n * half;
    __m512 acc[M];
    for (int m = 0; m < M; ++m) acc[m] = _mm512_setzero_ps();
    for (int64_t g = 0; g < G; ++g) {
      const __m256i lut = nibble_lut(a.zp ? a.zp[n * G + g] : 0);
      __m512 d[M][C];
      for (int m = 0; m < M; ++m)
        for (int c = 0; c < C; ++c) d[m][c] = _mm512_setzero_ps();
      for (int64_t j = 0; j < a.gs; j += 64) {
        const uint8_t* src = wr + (g * a.gs + j) / 2;
        _mm_prefetch(reinterpret_cast<const char*>(src + half), _MM_HINT_T0);  // the next row, one row ahead
        __m256i r0, r1;                                                        // k 0..15 | 32..47 and k 16..31 | 48..63
        unpack64_i8(src, lut, &r0, &r1);
        const __m512 w[4] = {_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(r0))),
                             _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_castsi256_si128(r1))),
                             _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(r0, 1))),
                             _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm256_extracti128_si256(r1, 1)))};
        for (int m = 0; m < M; ++m) {
          const float* x = a.x + m * a.K + g * a.gs + j;
          for (int q = 0; q < 4; ++q) d[m][q % C] = _mm512_fmadd_ps(_mm512_loadu_ps(x + 16 * q), w[q], d[m][q % C]);
        }
      }
      const __m512 s = _mm512_set1_ps(a.ws[n * G + g]);
      for (int m = 0; m < M; ++m) {
        __m512 t = d[m][0];
        for (int c = 1; c < C; ++c) t = _mm512_add_ps(t, d[m][c]);
        acc[m] = _mm512_fmadd_ps(s, t, acc[m]);
      }
    }
    for (int m = 0; m < M; ++m) a.out[m * a.ldo + n] = a.epi(m, n, _mm512_reduce_add_ps(acc[m]));
  }
}

void weight_only_rows_avx512(const tk::w4a4_kernels::WeightOnlyArgs& a, int64_t n0, int64_t n1, float* buf) {
  using Fn = void (*)(const tk::w4a4_kernels::WeightOnlyArgs&, int64_t, int64_t);
  static const Fn t[8] = {weight_only_rows_z<1>, weight_only_rows_z<2>, weight_only_rows_z<3>, weight_only_rows_z<4>,
                          weight_only_rows_z<5>, weight_only_rows_z<6>, weight_only_rows_z<7>, weight_only_rows_z<8>};
  if (a.gs % 64 != 0 || a.M < 1 || a.M > 8) return weight_only_rows_x86(a, n0, n1, buf);
  t[a.M - 1](a, n0, n1);
}
}  // namespace

void get_kernels_avx512(Kernels* k) {
  k->name = "avx512-vnni w4a4 (vpdpbusd: 512-bit tiles for few rows, 4x2 256-bit tiles)";
  k->fits = fits_x86;
  k->block = block_avx512;
  k->quantize_row = quantize_row;
  k->weight_only_rows = weight_only_rows_avx512;
}

}  // namespace tk::w4a4_kernels
