// AVX-512 kernels (F+BW+VL+DQ; VNNI and BF16 parts used only when CPUID has them). Compiled with the
// avx512 flags of native/sources.json, entered only after the CPU check in gemm_cpu.cc.
#define TK_SIMD_ISA 3
#include "gemm_configs.h"
#include "gemm_kernel_impl.h"

namespace {

// acc += the dot products of groups of 4: unsigned bytes of u by signed bytes of s (vpdpbusd). In
// inline asm so the accumulator stays in its register: GCC 12 copied the accumulators of the
// intrinsic's form around every instruction (a vmovdqa per vpdpbusd and a spill), a third of peak.
inline void dpbusd(__m512i& acc, __m512i u, __m512i s) { __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s)); }

// ---- int8 with VNNI: vpdpbusd multiplies unsigned bytes by signed bytes in groups of 4. A is stored
// as a + 128 (unsigned); the extra 128 * sum(b) per column is subtracted from the accumulators
// using the column sums stored after each B panel. Exact: everything stays in int32.

// A panels: [kc4][MR] uint32 (4 bytes a+128); B panels: [kc4][NR][4] int8, then int32 colsum[NR].
template <int MR>
void pack_a_vnni(const Operand& a, int64_t i0, int64_t rows, int64_t k0, int64_t kc, void* dst) {
  const int64_t kc4 = (kc + 3) / 4, full4 = a.trans ? 0 : kc / 4;  // full4: units the transpose packs
  uint8_t* d = static_cast<uint8_t*>(dst);
  for (int64_t p = 0; p < rows; p += MR) {
    const int r = static_cast<int>(imin(MR, rows - p));
    uint8_t* dp = d + (p / MR) * kc4 * MR * 4;
    if (full4 > 0)  // A stored [M, K]: 4 bytes of a row are one unit; + 128 is XOR 0x80 per byte
      pack_rows32<MR>(static_cast<const char*>(a.data) + (i0 + p) * a.ld + k0, a.ld, r, full4, 0x80808080u,
                      reinterpret_cast<uint32_t*>(dp));
    for (int64_t k4 = full4; k4 < kc4; ++k4)
      for (int i = 0; i < MR; ++i)
        for (int t = 0; t < 4; ++t) {
          const int64_t k = 4 * k4 + t;
          const int v = (i < r && k < kc) ? a_at(a, i0 + p + i, k0 + k) : 0;
          dp[(k4 * MR + i) * 4 + t] = static_cast<uint8_t>(v + 128);
        }
  }
}

template <int NR>
size_t b_panel_bytes_vnni(int64_t kc) {
  return size_t((kc + 3) / 4) * NR * 4 + NR * 4;
}
template <int MR>
size_t a_panel_bytes_vnni(int64_t kc) {
  return size_t((kc + 3) / 4) * MR * 4;
}

// Four rows of B [K, N] (r[s] = row k + s at the panel's first column) interleaved into units of 4
// bytes, one per column: out[j * 4 + s] = r[s][j] for j < 16 (SSE byte / word unpacks).
inline void interleave4_i8x16(const int8_t* r0, const int8_t* r1, const int8_t* r2, const int8_t* r3, int8_t* out) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0)), b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1));
  const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r2)), e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r3));
  const __m128i ab_lo = _mm_unpacklo_epi8(a, b), ab_hi = _mm_unpackhi_epi8(a, b);
  const __m128i ce_lo = _mm_unpacklo_epi8(c, e), ce_hi = _mm_unpackhi_epi8(c, e);
  __m128i* o = reinterpret_cast<__m128i*>(out);
  _mm_storeu_si128(o, _mm_unpacklo_epi16(ab_lo, ce_lo));
  _mm_storeu_si128(o + 1, _mm_unpackhi_epi16(ab_lo, ce_lo));
  _mm_storeu_si128(o + 2, _mm_unpacklo_epi16(ab_hi, ce_hi));
  _mm_storeu_si128(o + 3, _mm_unpackhi_epi16(ab_hi, ce_hi));
}

template <int NR>
void pack_b_vnni(const Operand& b, int64_t k0, int64_t kc, int64_t j0, int64_t cols, void* dst) {
  const int64_t kc4 = (kc + 3) / 4, full4 = kc / 4;
  uint8_t* d = static_cast<uint8_t*>(dst);
  const int8_t* src = static_cast<const int8_t*>(b.data);
  const Operand t{b.data, b.dtype, b.ld, !b.trans};  // (column j, k) of op(B)
  for (int64_t q = 0; q < cols; q += NR) {
    const int c = static_cast<int>(imin(NR, cols - q));
    int8_t* dq = reinterpret_cast<int8_t*>(d + (q / NR) * b_panel_bytes_vnni<NR>(kc));
    int32_t colsum[NR] = {};
    int64_t k4 = 0;
    if (b.trans) {  // B [N, K]: 4 bytes of a row of B are one unit of a column of op(B)
      pack_rows32<NR>(reinterpret_cast<const char*>(src + (j0 + q) * b.ld + k0), b.ld, c, full4, 0, reinterpret_cast<uint32_t*>(dq));
      for (int j = 0; j < c; ++j) {
        const int8_t* row = src + (j0 + q + j) * b.ld + k0;
        int32_t sum = 0;
        for (int64_t k = 0; k < 4 * full4; ++k) sum += row[k];
        colsum[j] = sum;
      }
      k4 = full4;
    } else if (c == NR) {  // B [K, N], a whole panel: four rows interleave into the units
      for (; k4 < full4; ++k4) {
        const int8_t* r0 = src + (k0 + 4 * k4) * b.ld + j0 + q;
        for (int j = 0; j < NR; j += 16)
          interleave4_i8x16(r0 + j, r0 + b.ld + j, r0 + 2 * b.ld + j, r0 + 3 * b.ld + j, dq + (k4 * NR + j) * 4);
        for (int s4 = 0; s4 < 4; ++s4)
          for (int j = 0; j < NR; ++j) colsum[j] += r0[s4 * b.ld + j];
      }
    }
    for (; k4 < kc4; ++k4)  // the rest: K's last partial unit, partial panels
      for (int j = 0; j < NR; ++j)
        for (int s4 = 0; s4 < 4; ++s4) {
          const int64_t k = 4 * k4 + s4;
          const int8_t v = (j < c && k < kc) ? a_at(t, j0 + q + j, k0 + k) : 0;
          dq[(k4 * NR + j) * 4 + s4] = v;
          colsum[j] += v;
        }
    std::memcpy(dq + kc4 * NR * 4, colsum, sizeof colsum);
  }
}

// One step of 4 k of the int8 microkernels: acc[i][v] += (a_i + 128) . b over the panels' units.
template <int MR, int NV>
__attribute__((always_inline)) inline void vnni_step(const int32_t* ap, const int8_t* bp, int64_t k4, __m512i (&acc)[MR][NV]) {
  constexpr int NR = NV * 16;
  __m512i b[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) b[v] = _mm512_loadu_si512(bp + (k4 * NR + v * 16) * 4);
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    const __m512i a = _mm512_set1_epi32(ap[k4 * MR + i]);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) dpbusd(acc[i][v], a, b[v]);
  }
}

template <int MR, int NV>
void ukr_i8_vnni(int64_t kc, const void* apv, const void* bpv, int32_t* c, int64_t ldc, int mr, int nr, const Epilogue<int32_t>& e) {
  constexpr int NR = NV * 16;
  const int64_t kc4 = (kc + 3) / 4;
  const int32_t* ap = static_cast<const int32_t*>(apv);
  const int8_t* bp = static_cast<const int8_t*>(bpv);
  // Every loop over acc is unrolled: one with a run-time index keeps the array in memory (each
  // vpdpbusd then loads and stores its accumulator: a third of peak).
  __m512i acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_si512();
  const CTilePrefetch<MR, NR * sizeof(int32_t)> cpf(c, ldc * int64_t(sizeof(int32_t)), kc4);  // see ukr_f32
  auto step = [&](int64_t k4) __attribute__((always_inline)) { vnni_step<MR, NV>(ap, bp, k4, acc); };
  int64_t k4 = 0;
  for (; k4 < cpf.start; ++k4) step(k4);
  for (; k4 < kc4; ++k4) {
    cpf.at(k4);
    step(k4);
  }
  const int32_t* colsum = reinterpret_cast<const int32_t*>(bp + kc4 * NR * 4);
  __m512i corr[NV];
#pragma GCC unroll 4
  for (int v = 0; v < NV; ++v) corr[v] = _mm512_slli_epi32(_mm512_loadu_si512(colsum + v * 16), 7);
  if (mr == MR && nr == NR) {  // a whole tile: the epilogue (epilogue1's rules) in vectors
    const __m512i va = _mm512_set1_epi32(e.alpha), vb = _mm512_set1_epi32(e.beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        int32_t* cp = c + i * ldc + v * 16;
        __m512i r = _mm512_sub_epi32(acc[i][v], corr[v]);
        if (e.alpha != 1) r = _mm512_mullo_epi32(r, va);
        if (e.first) {
          if (e.cin) r = _mm512_add_epi32(r, _mm512_mullo_epi32(_mm512_loadu_si512(e.cin + i * e.ldcin + v * 16), vb));
        } else {
          r = _mm512_add_epi32(r, _mm512_loadu_si512(cp));
        }
        if (e.last && e.bias) r = _mm512_add_epi32(r, _mm512_loadu_si512(e.bias + v * 16));
        _mm512_storeu_si512(cp, r);
      }
    return;
  }
  int32_t tmp[MR * NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm512_storeu_si512(tmp + i * NR + v * 16, _mm512_sub_epi32(acc[i][v], corr[v]));
  store_edge<int32_t, MR, NR>(tmp, c, ldc, mr, nr, e);
}

// ---- int8 with VNNI in groups of K (W4A4 / W4A8 weight groups; Epilogue::gscale): i8's A panels, and
// i8's B panels followed by -128 * the column sums of every 32 k (kc a multiple of 32), so a group of
// any multiple of 32 starts its accumulators at its exact a + 128 correction: each group's sum comes
// out exact in int32. Computing the sums in the microkernel instead (a chain of vpdpbusd per group,
// on every row panel) cost a quarter of the time (4096^3 in groups of 128: 716 vs 959 GOP/s). The
// sums are converted and scaled into a float32 tile on the stack, written to C (float32 here) at the
// end.
constexpr int kGroupChunk = 32;  // k per stored column sum: group sizes are multiples of it

template <int NR>
size_t b_panel_bytes_vnni_grouped(int64_t kc) {
  return b_panel_bytes_vnni<NR>(kc) + size_t(kc / kGroupChunk) * NR * 4;
}

template <int NR>
void pack_b_vnni_grouped(const Operand& b, int64_t k0, int64_t kc, int64_t j0, int64_t cols, void* dst) {
  const int64_t kc4 = kc / 4;
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t q = 0; q < cols; q += NR) {
    int8_t* panel = static_cast<int8_t*>(dst) + (q / NR) * b_panel_bytes_vnni_grouped<NR>(kc);
    pack_b_vnni<NR>(b, k0, kc, j0 + q, imin(NR, cols - q), panel);
    int32_t* sums = reinterpret_cast<int32_t*>(panel + b_panel_bytes_vnni<NR>(kc));
    for (int64_t c = 0; c < kc4 / (kGroupChunk / 4); ++c)
      for (int v = 0; v < NR / 16; ++v) {
        __m512i s = _mm512_setzero_si512();
        for (int64_t k4 = c * (kGroupChunk / 4); k4 < (c + 1) * (kGroupChunk / 4); ++k4)
          s = _mm512_dpbusd_epi32(s, ones, _mm512_loadu_si512(panel + (k4 * NR + v * 16) * 4));
        _mm512_storeu_si512(sums + c * NR + v * 16, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s, 7)));
      }
  }
}

// One group: steps [g0, g1) of the panels, tile += scale * (exact sums). A function of its own, not
// inlined: with the group loop around it GCC kept every accumulator in memory (as ukr_i8_vnni notes).
template <int MR, int NV>
__attribute__((noinline)) void group_i8_vnni(const int32_t* ap, const int8_t* bp, const int32_t* corr, int64_t g0, int64_t g1,
                                             const __m512* sc, float* tile, const CTilePrefetch<MR, NV * 16 * int(sizeof(float))>& cpf) {
  constexpr int NR = NV * 16;
  __m512i acc[MR][NV];
  {
    __m512i cs[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) cs[v] = _mm512_setzero_si512();
    for (int64_t c = g0 / (kGroupChunk / 4); c < g1 / (kGroupChunk / 4); ++c)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) cs[v] = _mm512_add_epi32(cs[v], _mm512_loadu_si512(corr + c * NR + v * 16));
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = cs[v];
  }
  auto step = [&](int64_t k4) __attribute__((always_inline)) { vnni_step<MR, NV>(ap, bp, k4, acc); };
  const int64_t plain_end = g1 < cpf.start ? g1 : g0 > cpf.start ? g0 : cpf.start;
  int64_t k4 = g0;
  for (; k4 < plain_end; ++k4) step(k4);
  for (; k4 < g1; ++k4) {
    cpf.at(k4);
    step(k4);
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* t = tile + i * NR + v * 16;  // exact conversion: |sum| < 2^24 for groups of up to 512
      _mm512_store_ps(t, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[i][v]), sc[v], _mm512_load_ps(t)));
    }
}

template <int MR, int NV>
void ukr_i8_vnni_grouped(int64_t kc, const void* apv, const void* bpv, int32_t* c, int64_t ldc, int mr, int nr,
                         const Epilogue<int32_t>& e) {
  constexpr int NR = NV * 16;
  const int64_t kc4 = kc / 4, g4 = e.gsize / 4;  // the driver keeps K blocks whole groups
  const int8_t* bp = static_cast<const int8_t*>(bpv);
  const int32_t* corr = reinterpret_cast<const int32_t*>(bp + b_panel_bytes_vnni<NR>(kc));
  float* cf = reinterpret_cast<float*>(c);
  const bool whole = mr == MR && nr == NR;
  alignas(64) float tile[MR * NR];
  if (e.first || !whole) std::memset(tile, 0, sizeof tile);
  if (!e.first)
    for (int i = 0; i < mr; ++i) std::memcpy(tile + i * NR, cf + i * ldc, size_t(nr) * sizeof(float));
  __mmask16 cm[NV];
  for (int v = 0; v < NV; ++v) cm[v] = static_cast<__mmask16>(nr >= (v + 1) * 16 ? 0xFFFF : nr > v * 16 ? (1u << (nr - v * 16)) - 1 : 0);
  const CTilePrefetch<MR, NR* int(sizeof(float))> cpf(c, ldc * int64_t(sizeof(float)), kc4);  // see ukr_f32
  for (int64_t g0 = 0, gi = 0; g0 < kc4; g0 += g4, ++gi) {
    __m512 sc[NV];
    for (int v = 0; v < NV; ++v) sc[v] = _mm512_maskz_loadu_ps(cm[v], e.gscale + gi * e.ldgs + v * 16);
    group_i8_vnni<MR, NV>(static_cast<const int32_t*>(apv), bp, corr, g0, g0 + g4, sc, tile, cpf);
  }
  if (whole) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) _mm512_storeu_ps(cf + i * ldc + v * 16, _mm512_load_ps(tile + i * NR + v * 16));
    return;
  }
  for (int i = 0; i < mr; ++i) std::memcpy(cf + i * ldc, tile + i * NR, size_t(nr) * sizeof(float));
}

// ---- bfloat16 with AVX512_BF16: vdpbf16ps adds the products of bf16 pairs into float32 lanes.
// A panels: [kc2][MR] uint32 (bf16 pair); B panels: [kc2][NR][2] bf16. Inputs are bfloat16.
template <int MR>
void pack_a_bf16pair(const Operand& a, int64_t i0, int64_t rows, int64_t k0, int64_t kc, void* dst) {
  const int64_t kc2 = (kc + 1) / 2, full2 = a.trans ? 0 : kc / 2;  // full2: units the transpose packs
  const uint16_t* s = static_cast<const uint16_t*>(a.data);
  uint16_t* d = static_cast<uint16_t*>(dst);
  auto at = [&](int64_t r, int64_t k) -> uint16_t { return a.trans ? s[k * a.ld + r] : s[r * a.ld + k]; };
  for (int64_t p = 0; p < rows; p += MR) {
    const int r = static_cast<int>(imin(MR, rows - p));
    uint16_t* dp = d + (p / MR) * kc2 * MR * 2;
    if (full2 > 0)  // A stored [M, K]: a pair of a row is one 32-bit unit
      pack_rows32<MR>(reinterpret_cast<const char*>(s + (i0 + p) * a.ld + k0), a.ld * 2, r, full2, 0, reinterpret_cast<uint32_t*>(dp));
    for (int64_t k2 = full2; k2 < kc2; ++k2)
      for (int i = 0; i < MR; ++i)
        for (int t = 0; t < 2; ++t) {
          const int64_t k = 2 * k2 + t;
          dp[(k2 * MR + i) * 2 + t] = (i < r && k < kc) ? at(i0 + p + i, k0 + k) : 0;
        }
  }
}

template <int NR>
void pack_b_bf16pair(const Operand& b, int64_t k0, int64_t kc, int64_t j0, int64_t cols, void* dst) {
  const int64_t kc2 = (kc + 1) / 2, full2 = kc / 2;
  const uint16_t* s = static_cast<const uint16_t*>(b.data);
  uint16_t* d = static_cast<uint16_t*>(dst);
  auto at = [&](int64_t k, int64_t j) -> uint16_t { return b.trans ? s[j * b.ld + k] : s[k * b.ld + j]; };
  for (int64_t q = 0; q < cols; q += NR) {
    const int c = static_cast<int>(imin(NR, cols - q));
    uint16_t* dq = d + (q / NR) * kc2 * NR * 2;
    int64_t k2 = 0;
    if (b.trans) {  // B [N, K]: a pair of a row of B is one unit of a column of op(B)
      pack_rows32<NR>(reinterpret_cast<const char*>(s + (j0 + q) * b.ld + k0), b.ld * 2, c, full2, 0, reinterpret_cast<uint32_t*>(dq));
      k2 = full2;
    } else if (c == NR) {  // B [K, N], a whole panel: two rows interleave into the pairs
      for (; k2 < full2; ++k2) {
        const uint16_t* r0 = s + (k0 + 2 * k2) * b.ld + j0 + q;
        __m128i* o = reinterpret_cast<__m128i*>(dq + k2 * NR * 2);
        for (int j = 0; j < NR; j += 8) {
          const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + j));
          const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + b.ld + j));
          _mm_storeu_si128(o + j / 4, _mm_unpacklo_epi16(x, y));
          _mm_storeu_si128(o + j / 4 + 1, _mm_unpackhi_epi16(x, y));
        }
      }
    }
    for (; k2 < kc2; ++k2)  // the rest: K's odd last element, partial panels
      for (int j = 0; j < NR; ++j)
        for (int t = 0; t < 2; ++t) {
          const int64_t k = 2 * k2 + t;
          dq[(k2 * NR + j) * 2 + t] = (j < c && k < kc) ? at(k0 + k, j0 + q + j) : 0;
        }
  }
}

template <int MR>
size_t a_panel_bytes_bf16pair(int64_t kc) {
  return size_t((kc + 1) / 2) * MR * 4;
}
template <int NR>
size_t b_panel_bytes_bf16pair(int64_t kc) {
  return size_t((kc + 1) / 2) * NR * 4;
}

template <int MR, int NV>
void ukr_bf16_dot(int64_t kc, const void* apv, const void* bpv, float* c, int64_t ldc, int mr, int nr, const Epilogue<float>& e) {
  constexpr int NR = NV * 16;
  const int64_t kc2 = (kc + 1) / 2;
  const int32_t* ap = static_cast<const int32_t*>(apv);
  const uint16_t* bp = static_cast<const uint16_t*>(bpv);
  __m512 acc[MR][NV];  // every loop over acc unrolled, or the array stays in memory (see ukr_i8_vnni)
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
  const CTilePrefetch<MR, NR * sizeof(float)> cpf(c, ldc * int64_t(sizeof(float)), kc2);  // see ukr_f32
  auto step = [&](int64_t k2) __attribute__((always_inline)) {
    __m512bh b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = (__m512bh)_mm512_loadu_si512(bp + (k2 * NR + v * 16) * 2);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(ap[k2 * MR + i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], a, b[v]);
    }
  };
  int64_t k2 = 0;
  for (; k2 < cpf.start; ++k2) step(k2);
  for (; k2 < kc2; ++k2) {
    cpf.at(k2);
    step(k2);
  }
  if (mr == MR && nr == NR) {
    // Full tile: same arithmetic as the float kernel's vector epilogue.
    const __m512 va = _mm512_set1_ps(e.alpha), vb = _mm512_set1_ps(e.beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float* cp = c + i * ldc + v * 16;
        __m512 r = _mm512_mul_ps(acc[i][v], va);
        if (e.first) {
          if (e.cin) r = _mm512_fmadd_ps(_mm512_loadu_ps(e.cin + i * e.ldcin + v * 16), vb, r);
        } else {
          r = _mm512_add_ps(r, _mm512_loadu_ps(cp));
        }
        if (e.last && e.bias) r = _mm512_add_ps(r, _mm512_loadu_ps(e.bias + v * 16));
        _mm512_storeu_ps(cp, r);
      }
    return;
  }
  float tmp[MR * NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm512_storeu_ps(tmp + i * NR + v * 16, acc[i][v]);
  store_edge<float, MR, NR>(tmp, c, ldc, mr, nr, e);
}

// ---- int8 skinny with VNNI, B stored [N, K]: vpdpbusd on (b + 128) as the unsigned operand and a as
// the signed one; sum((b + 128) * a) - 128 * sum(a) is the exact dot product, and sum(a) is one number
// per row of A for the whole call. Four rows of A per pass over a row of B; the K tail by masked loads
// (zero a makes the tail's products zero). B stored [K, N] takes the portable kernel.
// R rows of A against NB rows of B (out[r * NB + j]): R * NB independent accumulator chains, so
// vpdpbusd's latency does not bound a row of A (4 rows x 1 row of B, 4 chains: M = 8 at 22% of the
// read bandwidth; now 4 x 4: README's GEMM table).
// `next` (or null): the NB rows of B the following tile reads, prefetched into L2 at the same offsets
// while these stream; within the rows, each is prefetched kAhead bytes ahead (as the float skinny NT
// kernel does: rows of K bytes are short streams the hardware prefetcher picks up late).
template <int R, int NB>
inline void dot_rows_vnni(const int8_t* a, int64_t K, const int8_t* brow, int64_t ldb, int32_t* out, const int8_t* next) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i acc[R][NB];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) acc[r][j] = _mm512_setzero_si512();
  auto step = [&](int64_t k, __mmask64 m) __attribute__((always_inline)) {
    __m512i bu[NB];
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) bu[j] = _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, brow + j * ldb + k), flip);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512i av = _mm512_maskz_loadu_epi8(m, a + r * K + k);
#pragma GCC unroll 4
      for (int j = 0; j < NB; ++j) dpbusd(acc[r][j], bu[j], av);
    }
  };
  constexpr int64_t kAhead = 1024;
  int64_t k = 0;
  for (; k + 64 <= K; k += 64) {
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) prefetch(brow + j * ldb + k + kAhead);
    if (next) {
#pragma GCC unroll 4
      for (int j = 0; j < NB; ++j) prefetch_l2(next + j * ldb + k);
    }
    step(k, ~__mmask64(0));
  }
  if (k < K) step(k, _cvtu64_mask64(~uint64_t(0) >> (64 - (K - k))));
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NB; ++j) out[r * NB + j] = _mm512_reduce_add_epi32(acc[r][j]);
}

// Rows [m, m + R) of A against rows [n, n + NB) of B, through the epilogue.
template <int R, int NB>
inline void skinny_i8_tile(int64_t K, const int8_t* a, const int8_t* B, int64_t ldb, int64_t m, int64_t n, const int32_t* fix, int32_t* c,
                           int64_t ldc, const Epilogue<int32_t>& e, const int8_t* next) {
  int32_t d[R * NB];
  dot_rows_vnni<R, NB>(a + m * K, K, B + n * ldb, ldb, d, next);
  for (int r = 0; r < R; ++r)
    for (int j = 0; j < NB; ++j) {
      int32_t* cp = c + (m + r) * ldc + n + j;
      *cp = epilogue1(d[r * NB + j] - fix[m + r], cp, e.cin ? e.cin + (m + r) * e.ldcin + n + j : nullptr,
                      e.bias ? e.bias + n + j : nullptr, e);
    }
}

// Every row of A against NB rows of B: tiles of 4 rows, then 2, 1; the first tile prefetches `next`
// (the later ones find these rows of B in L1 / L2).
template <int NB>
inline void skinny_i8_rows(int64_t M, int64_t K, const int8_t* a, const int8_t* B, int64_t ldb, int64_t n, const int32_t* fix, int32_t* c,
                           int64_t ldc, const Epilogue<int32_t>& e, const int8_t* next) {
  int64_t m = 0;
  for (; m + 4 <= M; m += 4) skinny_i8_tile<4, NB>(K, a, B, ldb, m, n, fix, c, ldc, e, m == 0 ? next : nullptr);
  for (; m + 2 <= M; m += 2) skinny_i8_tile<2, NB>(K, a, B, ldb, m, n, fix, c, ldc, e, m == 0 ? next : nullptr);
  if (m < M) skinny_i8_tile<1, NB>(K, a, B, ldb, m, n, fix, c, ldc, e, m == 0 ? next : nullptr);
}

void skinny_i8_run_vnni(int64_t M, int64_t K, const int8_t* a, const Operand& b, int64_t n0, int64_t n1, int32_t* c, int64_t ldc,
                        const Epilogue<int32_t>& e, int32_t* scratch) {
  if (!b.trans) return skinny_i8_run(M, K, a, b, n0, n1, c, ldc, e, scratch);
  int32_t fix[tk::gemm_kernels::kSkinnyI8MaxM];  // 128 * sum(a) per row
  for (int64_t m = 0; m < M; ++m) {
    int32_t sum = 0;
    for (int64_t k = 0; k < K; ++k) sum += a[m * K + k];
    fix[m] = 128 * sum;
  }
  const int8_t* B = static_cast<const int8_t*>(b.data);
  int64_t n = n0;
  // Four rows of B at a time (16 chains for four rows of A); with two, M = 4 / 8 read the weights at
  // 0.52 / 0.62 of the float32 kernel's rate, with four 0.59 / 0.68 (interleaved in one process).
  for (; n + 4 <= n1; n += 4) skinny_i8_rows<4>(M, K, a, B, b.ld, n, fix, c, ldc, e, n + 8 <= n1 ? B + (n + 4) * b.ld : nullptr);
  for (; n + 2 <= n1; n += 2) skinny_i8_rows<2>(M, K, a, B, b.ld, n, fix, c, ldc, e, nullptr);
  if (n < n1) skinny_i8_rows<1>(M, K, a, B, b.ld, n, fix, c, ldc, e, nullptr);
}

}  // namespace

namespace tk::gemm_kernels {

// Blocking and the small-M rule from a config.
template <class Acc>
void set_blocks(BlockedKernels<Acc>* k, const BlockConfig& c) {
  k->kc = c.kc;
  k->mc = c.mc;
  k->nc = c.nc;
  k->small_m = c.small_m;
  k->small_kc = c.small_kc;
}

void get_kernels_avx512(IsaKernels* k, bool has_vnni, bool has_bf16, Blocks blocks) {
  const bool wide = blocks == Blocks::kWide;
  constexpr BlockConfig f = kAvx512F32;
  k->f32 = {"avx512 f32 12x32",
            f.mr,
            f.nr,
            f.kc,
            f.mc,
            f.nc,
            a_panel_bytes_f32<f.mr>,
            b_panel_bytes_f32<f.nr>,
            pack_a_f32<f.mr>,
            pack_b_f32<f.nr>,
            ukr_f32<f.mr, f.nr / kW>};
  set_blocks(&k->f32, wide ? kAvx512F32Wide : kAvx512F32);
  constexpr int m8 = kAvx512F32Mr8;
  k->f32_mr8 = k->f32;
  k->f32_mr8.name = "avx512 f32 8x32";
  k->f32_mr8.mr = m8;
  k->f32_mr8.a_panel_bytes = a_panel_bytes_f32<m8>;
  k->f32_mr8.pack_a = pack_a_f32<m8>;
  k->f32_mr8.ukr = ukr_f32<m8, f.nr / kW>;
  k->skinny = {"avx512 skinny", kSkinnyMaxMNN, kSkinnyMaxMNT, skinny_run};
  k->skinny_i8 = {"avx512 int8 skinny", kSkinnyI8MaxM, skinny_i8_run};
  if (has_vnni) {
    constexpr BlockConfig q = kAvx512I8;
    k->i8 = {"avx512 int8 12x32 (vpdpbusd)",
             q.mr,
             q.nr,
             q.kc,
             q.mc,
             q.nc,
             a_panel_bytes_vnni<q.mr>,
             b_panel_bytes_vnni<q.nr>,
             pack_a_vnni<q.mr>,
             pack_b_vnni<q.nr>,
             ukr_i8_vnni<q.mr, q.nr / 16>};
    set_blocks(&k->i8, wide ? kAvx512I8Wide : blocks == Blocks::kXeon ? kAvx512I8Xeon : kAvx512I8);
    k->i8_grouped = k->i8;
    k->i8_grouped.name = "avx512 int8 12x32 in groups (vpdpbusd)";
    k->i8_grouped.b_panel_bytes = b_panel_bytes_vnni_grouped<q.nr>;
    k->i8_grouped.pack_b = pack_b_vnni_grouped<q.nr>;
    k->i8_grouped.ukr = ukr_i8_vnni_grouped<q.mr, q.nr / 16>;
    k->skinny_i8 = {"avx512 int8 skinny (vpdpbusd)", kSkinnyI8MaxM, skinny_i8_run_vnni};
  }
  if (has_bf16) {
    constexpr BlockConfig h = kAvx512Bf16;
    k->bf16_dot = {"avx512 bf16 12x32 (vdpbf16ps)",
                   h.mr,
                   h.nr,
                   h.kc,
                   h.mc,
                   h.nc,
                   a_panel_bytes_bf16pair<h.mr>,
                   b_panel_bytes_bf16pair<h.nr>,
                   pack_a_bf16pair<h.mr>,
                   pack_b_bf16pair<h.nr>,
                   ukr_bf16_dot<h.mr, h.nr / 16>};
    set_blocks(&k->bf16_dot, wide ? kAvx512Bf16Wide : kAvx512Bf16);
  }
}

}  // namespace tk::gemm_kernels
