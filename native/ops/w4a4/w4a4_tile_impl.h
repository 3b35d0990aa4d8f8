// The x86 W4A4 tile, included by w4a4_cpu_avx2.cc (vpmaddubsw, int16 accumulation) and
// w4a4_cpu_avx512.cc (TK_W4A4_VNNI: vpdpbusd straight into int32) inside their anonymous namespaces.
//
// The nibbles are two's complement; XOR 0x88 turns both nibbles of a byte into q_w + 8, in [0, 15],
// the unsigned operand of vpmaddubsw / vpdpbusd, and the activations q_x are the signed one. So the
// kernels compute sum (q_w + 8) q_x = sum q_w q_x + 8 sum q_x, and subtract 8 sum q_x per row and
// group (the driver computes it while quantizing, so it costs the weights nothing).
// Bounds (AVX2): a vpmaddubsw lane is a pair sum, at most 2 * 15 * 8 = 240 in magnitude for 4-bit
// activations (2 * 15 * 127 = 3810 for 8-bit), two per 64-k step, so int16 lanes take 64 steps
// (30720) or 4 steps (30480) before one vpmaddwd with ones widens them to int32.
// The includer includes <immintrin.h>, <algorithm>, <cstring> and w4a4_kernels.h first (this file
// goes inside a namespace).

// 32 packed bytes (64 k) of one weight row at byte offset `off`; the last, partial step of a row
// whose K is not a multiple of 64 goes through a zeroed copy so nothing is read past the row.
inline __m256i load_w(const uint8_t* row, int64_t off, int64_t rowbytes) {
  if (off + 32 <= rowbytes) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + off));
  alignas(32) uint8_t tmp[32] = {};
  std::memcpy(tmp, row + off, size_t(rowbytes - off));
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(tmp));
}

inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// acc += dot of the unsigned weight bytes with the signed activation bytes, for one 64-k step.
#ifdef TK_W4A4_VNNI
using Acc = __m256i;  // int32 lanes
inline Acc step_dot(Acc acc, __m256i lo, __m256i hi, __m256i xe, __m256i xo) {
  return _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(acc, lo, xe), hi, xo);
}
inline __m256i widen(Acc acc) { return acc; }
constexpr int64_t kMaxSteps4 = int64_t(1) << 40, kMaxSteps8 = int64_t(1) << 40;  // int32 from the start
#else
using Acc = __m256i;  // int16 lanes
inline Acc step_dot(Acc acc, __m256i lo, __m256i hi, __m256i xe, __m256i xo) {
  // Added one product at a time: one temporary register instead of two (the tile is register-bound);
  // wrapping int16 adds are associative, and the bounds above hold for the sum either way.
  Acc r = _mm256_add_epi16(_mm256_add_epi16(acc, _mm256_maddubs_epi16(lo, xe)), _mm256_maddubs_epi16(hi, xo));
  // An empty asm that "changes" r: without it GCC reassociates the unrolled steps' adds (they start
  // from zero) into trees of independent products, which needs twice the registers and spills.
  asm("" : "+x"(r));
  return r;
}
inline __m256i widen(Acc acc) { return _mm256_madd_epi16(acc, _mm256_set1_epi16(1)); }
constexpr int64_t kMaxSteps4 = 64, kMaxSteps8 = 4;
#endif

// One MR x NR tile of out over all of K; group size a multiple of 64, or one group (= K).
template <int MR, int NR, bool PF>
void tile_g64(const tk::w4a4_kernels::IntArgs& a, int64_t m0, int64_t n0) {
  const int64_t S = a.Kp / 64, rowbytes = a.K / 2;
  const int64_t gsteps = a.G == 1 ? S : a.gs / 64;
  const int64_t maxs = a.act_bits == 8 ? kMaxSteps8 : kMaxSteps4;
  const __m256i m4 = _mm256_set1_epi8(0x0F), x88 = _mm256_set1_epi8(static_cast<char>(0x88));
  const uint8_t* wr[NR];
  const int8_t* xr[MR];
  for (int n = 0; n < NR; ++n) wr[n] = a.w + (n0 + n) * rowbytes;
  for (int m = 0; m < MR; ++m) xr[m] = a.qa + (m0 + m) * a.Kp;
  // With 3-4 rows the float accumulators live in memory on purpose: they are touched once per group,
  // and holding them in registers (with the int16 accumulators and the unpacked weights) spills the
  // inner loop. With 1-2 rows they fit in registers.
  alignas(32) float accf[MR][NR][8] = {};
  for (int64_t g = 0; g < a.G; ++g) {
    const int64_t sg0 = g * gsteps, sg1 = std::min(S, sg0 + gsteps);
    __m256i acc32[MR][NR];
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) acc32[m][n] = _mm256_setzero_si256();
    for (int64_t s0 = sg0; s0 < sg1; s0 += maxs) {
      const int64_t s1 = std::min(sg1, s0 + maxs);
      Acc acc[MR][NR];
      for (int m = 0; m < MR; ++m)
        for (int n = 0; n < NR; ++n) acc[m][n] = _mm256_setzero_si256();
      for (int64_t st = s0; st < s1; ++st) {
        __m256i lo[NR], hi[NR];
        for (int n = 0; n < NR; ++n) {
          // Few rows (decode): the weights stream from memory once and the tiles are too short to hide
          // the latency; prefetch the same step of the next tile's rows (NR rows below: one tile,
          // 2 * K/2 bytes ahead per stream; a hint, so no fault past the end). 3x on M = 1.
          if constexpr (PF) _mm_prefetch(reinterpret_cast<const char*>(wr[n] + NR * rowbytes + st * 32), _MM_HINT_T0);
          const __m256i b = _mm256_xor_si256(load_w(wr[n], st * 32, rowbytes), x88);
          lo[n] = _mm256_and_si256(b, m4);
          hi[n] = _mm256_and_si256(_mm256_srli_epi16(b, 4), m4);
        }
        for (int m = 0; m < MR; ++m) {
          const __m256i xe = _mm256_load_si256(reinterpret_cast<const __m256i*>(xr[m] + st * 64));
          const __m256i xo = _mm256_load_si256(reinterpret_cast<const __m256i*>(xr[m] + st * 64 + 32));
          for (int n = 0; n < NR; ++n) acc[m][n] = step_dot(acc[m][n], lo[n], hi[n], xe, xo);
        }
      }
      if (s0 == sg0) {
        for (int m = 0; m < MR; ++m)
          for (int n = 0; n < NR; ++n) acc32[m][n] = widen(acc[m][n]);
      } else {
        for (int m = 0; m < MR; ++m)
          for (int n = 0; n < NR; ++n) acc32[m][n] = _mm256_add_epi32(acc32[m][n], widen(acc[m][n]));
      }
    }
    // The group's integer sums are exact here.
    if constexpr (MR == 4) {
      // Four rows at once: three vphaddd fold the four rows' 8-lane sums into one vector (lanes
      // m0..m3 in each 128-bit half), so the correction, conversion and scaling run once per weight
      // row instead of once per row pair -- the per-group cost that makes small groups slower.
      const int32_t* cr = a.corr + m0 * a.G + g;
      const __m256i c = _mm256_setr_epi32(cr[0], cr[a.G], cr[2 * a.G], cr[3 * a.G], 0, 0, 0, 0);
      for (int n = 0; n < NR; ++n) {
        const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(acc32[0][n], acc32[1][n]), _mm256_hadd_epi32(acc32[2][n], acc32[3][n]));
        const __m256 t = _mm256_cvtepi32_ps(_mm256_sub_epi32(h, c));
        _mm256_store_ps(accf[0][n], _mm256_fmadd_ps(t, _mm256_set1_ps(a.ws[(n0 + n) * a.G + g]), _mm256_load_ps(accf[0][n])));
      }
    } else {
      // The correction goes into lane 0 (any lane would do).
      for (int m = 0; m < MR; ++m) {
        const __m256i c = _mm256_setr_epi32(a.corr[(m0 + m) * a.G + g], 0, 0, 0, 0, 0, 0, 0);
        for (int n = 0; n < NR; ++n) {
          const __m256 t = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc32[m][n], c));
          _mm256_store_ps(accf[m][n], _mm256_fmadd_ps(t, _mm256_set1_ps(a.ws[(n0 + n) * a.G + g]), _mm256_load_ps(accf[m][n])));
        }
      }
    }
    if constexpr (MR >= 3) asm volatile("" ::: "memory");  // keep accf in memory (see above)
  }
  if constexpr (MR == 4) {
    for (int n = 0; n < NR; ++n) {
      const __m256 v = _mm256_load_ps(accf[0][n]);
      alignas(16) float r[4];
      _mm_store_ps(r, _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)));
      for (int m = 0; m < 4; ++m) a.out[(m0 + m) * a.ldo + n0 + n] = r[m];
    }
  } else {
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) a.out[(m0 + m) * a.ldo + n0 + n] = hsum_ps(_mm256_load_ps(accf[m][n]));
  }
}

// Groups of GS = 1, 2 or 4 steps (64, 128, 256 k) that fit the int16 accumulators in one go: the
// step loop unrolls at compile time and each group is widened, corrected and scaled straight away.
// This is the common case (groups of 128 are the usual choice) and the one where the per-group work
// matters most, so it gets its own flat loop.
template <int MR, int NR, int GS, bool PF>
void tile_gfix(const tk::w4a4_kernels::IntArgs& a, int64_t m0, int64_t n0) {
  const int64_t rowbytes = a.K / 2;
  const __m256i m4 = _mm256_set1_epi8(0x0F), x88 = _mm256_set1_epi8(static_cast<char>(0x88));
  const uint8_t* wr[NR];
  const int8_t* xr[MR];
  for (int n = 0; n < NR; ++n) wr[n] = a.w + (n0 + n) * rowbytes;
  for (int m = 0; m < MR; ++m) xr[m] = a.qa + (m0 + m) * a.Kp;
  constexpr int NV = MR == 4 ? NR : MR * NR;  // float accumulators: one per weight row when rows are folded
  __m256 accf[NV];
  for (int v = 0; v < NV; ++v) accf[v] = _mm256_setzero_ps();
  for (int64_t g = 0; g < a.G; ++g) {
    Acc acc[MR][NR];
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) acc[m][n] = _mm256_setzero_si256();
    for (int j = 0; j < GS; ++j) {
      const int64_t st = g * GS + j;
      __m256i lo[NR], hi[NR];
      for (int n = 0; n < NR; ++n) {
        if constexpr (PF) _mm_prefetch(reinterpret_cast<const char*>(wr[n] + NR * rowbytes + st * 32), _MM_HINT_T0);
        const __m256i b = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr[n] + st * 32)), x88);
        lo[n] = _mm256_and_si256(b, m4);
        hi[n] = _mm256_and_si256(_mm256_srli_epi16(b, 4), m4);
      }
      for (int m = 0; m < MR; ++m) {
        const __m256i xe = _mm256_load_si256(reinterpret_cast<const __m256i*>(xr[m] + st * 64));
        const __m256i xo = _mm256_load_si256(reinterpret_cast<const __m256i*>(xr[m] + st * 64 + 32));
        for (int n = 0; n < NR; ++n) acc[m][n] = step_dot(acc[m][n], lo[n], hi[n], xe, xo);
      }
    }
    if constexpr (MR == 4) {
      const int32_t* cr = a.corr + m0 * a.G + g;
      const __m256i c = _mm256_setr_epi32(cr[0], cr[a.G], cr[2 * a.G], cr[3 * a.G], 0, 0, 0, 0);
      for (int n = 0; n < NR; ++n) {
        const __m256i h =
            _mm256_hadd_epi32(_mm256_hadd_epi32(widen(acc[0][n]), widen(acc[1][n])), _mm256_hadd_epi32(widen(acc[2][n]), widen(acc[3][n])));
        accf[n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(h, c)), _mm256_set1_ps(a.ws[(n0 + n) * a.G + g]), accf[n]);
      }
    } else {
      for (int m = 0; m < MR; ++m) {
        const __m256i c = _mm256_setr_epi32(a.corr[(m0 + m) * a.G + g], 0, 0, 0, 0, 0, 0, 0);
        for (int n = 0; n < NR; ++n) {
          const __m256 t = _mm256_cvtepi32_ps(_mm256_sub_epi32(widen(acc[m][n]), c));
          accf[m * NR + n] = _mm256_fmadd_ps(t, _mm256_set1_ps(a.ws[(n0 + n) * a.G + g]), accf[m * NR + n]);
        }
      }
    }
  }
  if constexpr (MR == 4) {
    for (int n = 0; n < NR; ++n) {
      alignas(16) float r[4];
      _mm_store_ps(r, _mm_add_ps(_mm256_castps256_ps128(accf[n]), _mm256_extractf128_ps(accf[n], 1)));
      for (int m = 0; m < 4; ++m) a.out[(m0 + m) * a.ldo + n0 + n] = r[m];
    }
  } else {
    for (int m = 0; m < MR; ++m)
      for (int n = 0; n < NR; ++n) a.out[(m0 + m) * a.ldo + n0 + n] = hsum_ps(accf[m * NR + n]);
  }
}

// Groups of 32: one 64-k step holds two groups, in the low and high 128-bit halves of every vector
// (int32 lane i after widening sums k = 8i .. 8i + 7), so each step is widened, corrected and scaled
// with a two-valued scale vector.
template <int MR, int NR>
void tile_g32(const tk::w4a4_kernels::IntArgs& a, int64_t m0, int64_t n0) {
  const int64_t S = a.Kp / 64, rowbytes = a.K / 2;
  const __m256i m4 = _mm256_set1_epi8(0x0F), x88 = _mm256_set1_epi8(static_cast<char>(0x88));
  __m256 accf[MR][NR];
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NR; ++n) accf[m][n] = _mm256_setzero_ps();
  for (int64_t st = 0; st < S; ++st) {
    const int64_t g0 = 2 * st, g1 = 2 * st + 1;
    __m256i lo[NR], hi[NR];
    __m256 sv[NR];
    for (int n = 0; n < NR; ++n) {
      const uint8_t* wr = a.w + (n0 + n) * rowbytes;
      const __m256i b = _mm256_xor_si256(load_w(wr, st * 32, rowbytes), x88);
      lo[n] = _mm256_and_si256(b, m4);
      hi[n] = _mm256_and_si256(_mm256_srli_epi16(b, 4), m4);
      const float* s = a.ws + (n0 + n) * a.G;
      sv[n] = _mm256_set_m128(_mm_set1_ps(g1 < a.G ? s[g1] : 0.0f), _mm_set1_ps(s[g0]));
    }
    for (int m = 0; m < MR; ++m) {
      const int8_t* xr = a.qa + (m0 + m) * a.Kp + st * 64;
      const __m256i xe = _mm256_load_si256(reinterpret_cast<const __m256i*>(xr));
      const __m256i xo = _mm256_load_si256(reinterpret_cast<const __m256i*>(xr + 32));
      const int32_t* cr = a.corr + (m0 + m) * a.G;
      const __m256i c = _mm256_setr_epi32(cr[g0], 0, 0, 0, g1 < a.G ? cr[g1] : 0, 0, 0, 0);
      for (int n = 0; n < NR; ++n) {
        const __m256i t = _mm256_sub_epi32(widen(step_dot(_mm256_setzero_si256(), lo[n], hi[n], xe, xo)), c);
        accf[m][n] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(t), sv[n], accf[m][n]);
      }
    }
  }
  for (int m = 0; m < MR; ++m)
    for (int n = 0; n < NR; ++n) a.out[(m0 + m) * a.ldo + n0 + n] = hsum_ps(accf[m][n]);
}

bool fits_x86(int64_t gs, int64_t K) { return gs == K || gs == 32 || gs % 64 == 0; }

using TileFn = void (*)(const tk::w4a4_kernels::IntArgs&, int64_t, int64_t);

// Tiles of up to 4 rows x 2 weight rows: the activation panel (rows * Kp bytes) stays in L1 while the
// block's weight rows stream past it from L2; 8 int16 accumulators + 4 unpacked weight vectors + 2
// constants fit the 16 ymm registers once the accumulation is kept sequential (step_dot). The flat
// group tile folds the four rows' sums with vphaddd. The generic multi-group tile (groups of 512+,
// 8-bit activations over long groups) keeps 3 rows: its float accumulators stay in memory there.
constexpr int kNr = 2;

template <int GS, bool PF>
TileFn pick_fix(int mr, int nr) {
  static const TileFn t[4][kNr] = {{tile_gfix<1, 1, GS, PF>, tile_gfix<1, 2, GS, PF>},
                                   {tile_gfix<2, 1, GS, PF>, tile_gfix<2, 2, GS, PF>},
                                   {tile_gfix<3, 1, GS, PF>, tile_gfix<3, 2, GS, PF>},
                                   {tile_gfix<4, 1, GS, PF>, tile_gfix<4, 2, GS, PF>}};
  return t[mr - 1][nr - 1];
}

template <bool G32, bool PF>
TileFn pick(int mr, int nr) {
  static const TileFn t64[4][kNr] = {{tile_g64<1, 1, PF>, tile_g64<1, 2, PF>},
                                     {tile_g64<2, 1, PF>, tile_g64<2, 2, PF>},
                                     {tile_g64<3, 1, PF>, tile_g64<3, 2, PF>},
                                     {tile_g64<4, 1, PF>, tile_g64<4, 2, PF>}};
  static const TileFn t32[4][kNr] = {{tile_g32<1, 1>, tile_g32<1, 2>},
                                     {tile_g32<2, 1>, tile_g32<2, 2>},
                                     {tile_g32<3, 1>, tile_g32<3, 2>},
                                     {tile_g32<4, 1>, tile_g32<4, 2>}};
  return G32 ? t32[mr - 1][nr - 1] : t64[mr - 1][nr - 1];
}

void block_x86(const tk::w4a4_kernels::IntArgs& a, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const bool g32 = a.gs == 32 && a.G > 1;
  // Flat tiles for groups of 1, 2 or 4 steps that fit the int16 lanes without an intermediate widening.
  const int64_t gsteps = a.G > 1 && a.gs % 64 == 0 ? a.gs / 64 : 0;
  const int64_t maxs = a.act_bits == 8 ? kMaxSteps8 : kMaxSteps4;
  const int fix = (gsteps == 1 || gsteps == 2 || gsteps == 4) && gsteps <= maxs ? static_cast<int>(gsteps) : 0;
  const int64_t kMr = fix || a.G == 1 ? 4 : 3;
  for (int64_t m = m0; m < m1; m += kMr) {
    const int mr = static_cast<int>(std::min<int64_t>(kMr, m1 - m));
    for (int64_t n = n0; n < n1; n += kNr) {
      const int nr = static_cast<int>(std::min<int64_t>(kNr, n1 - n));
      const TileFn f = a.prefetch ? (fix == 1   ? pick_fix<1, true>(mr, nr)
                                     : fix == 2 ? pick_fix<2, true>(mr, nr)
                                     : fix == 4 ? pick_fix<4, true>(mr, nr)
                                     : g32      ? pick<true, true>(mr, nr)
                                                : pick<false, true>(mr, nr))
                                  : (fix == 1   ? pick_fix<1, false>(mr, nr)
                                     : fix == 2 ? pick_fix<2, false>(mr, nr)
                                     : fix == 4 ? pick_fix<4, false>(mr, nr)
                                     : g32      ? pick<true, false>(mr, nr)
                                                : pick<false, false>(mr, nr));
      f(a, m, n);
    }
  }
}

// Weight-only decode rows (int4Matmul, few rows): each group of a weight row is unpacked to
// (q - z) as floats in natural k order (vpunpck{l,h}bw interleave the low/high nibbles back into k
// order per 128-bit lane), then dotted with every activation row by 8-wide FMAs and scaled once per
// group. The includer provides tk::w4a4_kernels::WeightOnlyArgs.
// 64 weights (32 packed bytes) as int8 (q - z) in natural k order, in two 128-bit halves per vector:
// k 0..15 | k 32..47 in r0 and k 16..31 | k 48..63 in r1. `lut` maps a nibble to q - z (vpshufb).
inline void unpack64_i8(const uint8_t* src, __m256i lut, __m256i* r0, __m256i* r1) {
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
  const __m256i lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(b, m4));
  const __m256i hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(b, 4), m4));
  *r0 = _mm256_unpacklo_epi8(lo, hi);
  *r1 = _mm256_unpackhi_epi8(lo, hi);
}

// The nibble -> q - z table for one group (two's complement nibble, minus the zero point).
inline __m256i nibble_lut(int z) {
  return _mm256_sub_epi8(
      _mm256_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1),
      _mm256_set1_epi8(static_cast<char>(z)));
}

// acc += x[0..16) . w for the 16 int8 weights in `w`.
inline void fma16(__m128i w, const float* x, __m256* a0, __m256* a1) {
  *a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(w)), *a0);
  *a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + 8), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(w, 8))), *a1);
}

// 16 weights (8 packed bytes) as int8 (q - z) in natural k order.
inline __m128i unpack16_i8(const uint8_t* src, __m128i lut) {
  const __m128i m4 = _mm_set1_epi8(0x0F);
  const __m128i b = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
  const __m128i lo = _mm_shuffle_epi8(lut, _mm_and_si128(b, m4));
  const __m128i hi = _mm_shuffle_epi8(lut, _mm_and_si128(_mm_srli_epi16(b, 4), m4));
  return _mm_unpacklo_epi8(lo, hi);
}

// Groups that are multiples of 16 but not of 64 (16, 32, 48, ...: GGUF's Q4_0 blocks are 32): 16
// weights at a time, each group's dot product scaled into a vector accumulator per activation row
// (no horizontal sum per group), one horizontal sum per output. The generic loop ran groups of 32 at
// a tenth of the rate of groups of 128 (M = 1, N = K = 4096: 13 ms vs 1.2 ms).
void weight_only_rows_x86_g16(const tk::w4a4_kernels::WeightOnlyArgs& a, int64_t n0, int64_t n1) {
  const int64_t half = a.K / 2, G = a.K / a.gs;
  __m256 tv[16];
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* wr = a.w + n * half;
    for (int64_t m = 0; m < a.M; ++m) tv[m] = _mm256_setzero_ps();
    for (int64_t g = 0; g < G; ++g) {
      const __m128i lut = _mm256_castsi256_si128(nibble_lut(a.zp ? a.zp[n * G + g] : 0));
      const __m256 s = _mm256_set1_ps(a.ws[n * G + g]);
      const uint8_t* src = wr + g * a.gs / 2;
      _mm_prefetch(reinterpret_cast<const char*>(src + half), _MM_HINT_T0);  // the next row, one row ahead
      for (int64_t m = 0; m < a.M; ++m) {
        const float* x = a.x + m * a.K + g * a.gs;
        __m256 d0 = _mm256_setzero_ps(), d1 = _mm256_setzero_ps();
        for (int64_t j = 0; j < a.gs; j += 16) fma16(unpack16_i8(src + j / 2, lut), x + j, &d0, &d1);
        tv[m] = _mm256_fmadd_ps(s, _mm256_add_ps(d0, d1), tv[m]);
      }
    }
    for (int64_t m = 0; m < a.M; ++m) a.out[m * a.ldo + n] = a.epi(m, n, hsum_ps(tv[m]));
  }
}

void weight_only_rows_x86(const tk::w4a4_kernels::WeightOnlyArgs& a, int64_t n0, int64_t n1, float* buf) {
  const int64_t half = a.K / 2, G = a.K / a.gs;
  if (a.M <= 16 && a.gs % 64 != 0 && a.gs % 16 == 0) return weight_only_rows_x86_g16(a, n0, n1);
  if (a.gs % 64 != 0 || a.M > 16) {  // other group sizes: the generic loop
    weight_only_rows(a, n0, n1, buf);
    return;
  }
  float total[16];
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* wr = a.w + n * half;
    for (int64_t m = 0; m < a.M; ++m) total[m] = 0.0f;
    for (int64_t g = 0; g < G; ++g) {
      const __m256i lut = nibble_lut(a.zp ? a.zp[n * G + g] : 0);
      const float s = a.ws[n * G + g];
      if (a.M == 1) {
        // Decode: straight from registers, no buffer; the weights stream once (prefetched 1 KB ahead).
        const float* x = a.x + g * a.gs;
        __m256 d0 = _mm256_setzero_ps(), d1 = _mm256_setzero_ps(), d2 = _mm256_setzero_ps(), d3 = _mm256_setzero_ps();
        for (int64_t j = 0; j < a.gs; j += 64) {
          const uint8_t* src = wr + (g * a.gs + j) / 2;
          _mm_prefetch(reinterpret_cast<const char*>(src + half), _MM_HINT_T0);  // the next row, one row ahead
          __m256i r0, r1;
          unpack64_i8(src, lut, &r0, &r1);
          fma16(_mm256_castsi256_si128(r0), x + j, &d0, &d1);
          fma16(_mm256_castsi256_si128(r1), x + j + 16, &d2, &d3);
          fma16(_mm256_extracti128_si256(r0, 1), x + j + 32, &d0, &d1);
          fma16(_mm256_extracti128_si256(r1, 1), x + j + 48, &d2, &d3);
        }
        total[0] += s * hsum_ps(_mm256_add_ps(_mm256_add_ps(d0, d1), _mm256_add_ps(d2, d3)));
        continue;
      }
      for (int64_t j = 0; j < a.gs; j += 64) {  // a few rows: unpack the group once to floats in L1
        const uint8_t* src = wr + (g * a.gs + j) / 2;
        _mm_prefetch(reinterpret_cast<const char*>(src + half), _MM_HINT_T0);
        __m256i r0, r1;
        unpack64_i8(src, lut, &r0, &r1);
        const __m128i part[4] = {_mm256_castsi256_si128(r0), _mm256_castsi256_si128(r1), _mm256_extracti128_si256(r0, 1),
                                 _mm256_extracti128_si256(r1, 1)};
        for (int c = 0; c < 4; ++c) {
          _mm256_storeu_ps(buf + j + 16 * c, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part[c])));
          _mm256_storeu_ps(buf + j + 16 * c + 8, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(part[c], 8))));
        }
      }
      for (int64_t m = 0; m < a.M; ++m) {
        const float* x = a.x + m * a.K + g * a.gs;
        __m256 d0 = _mm256_setzero_ps(), d1 = _mm256_setzero_ps();
        for (int64_t k = 0; k < a.gs; k += 16) {
          d0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(buf + k), d0);
          d1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), _mm256_loadu_ps(buf + k + 8), d1);
        }
        total[m] += s * hsum_ps(_mm256_add_ps(d0, d1));
      }
    }
    for (int64_t m = 0; m < a.M; ++m) a.out[m * a.ldo + n] = a.epi(m, n, total[m]);
  }
}
