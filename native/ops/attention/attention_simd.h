// What attention needs beyond core/simd.h's float vector: lane-wise max and a vectorized exp.
// Include only from an attention_cpu_<isa>.cc after defining TK_SIMD_ISA (internal linkage, as in
// core/simd.h).
//
// exp: Cody-Waite range reduction x = n ln2 + r (|r| <= ln2/2, ln2 split in a high part exact in
// float and a low correction), a degree-7 polynomial for e^r (the Cephes expf coefficients: about
// 1 ulp), and 2^n built in the exponent field. Inputs below -87.33 (where 2^n would be subnormal)
// give 0, which is also what the -inf of a masked score must give; NaN stays NaN.
#pragma once
#include <cmath>

#include "../../core/simd.h"

namespace {

constexpr float kExpLo = -87.33654f, kExpHi = 88.0f;
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f, kP2 = 8.3334519073e-3f;
constexpr float kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f, kP5 = 5.0000001201e-1f;

#if TK_SIMD_ISA == 1
inline VF vmaxv(VF a, VF b) {
  for (int i = 0; i < kW; ++i) a.v[i] = a.v[i] > b.v[i] ? a.v[i] : b.v[i];
  return a;
}
inline float vhmax(VF a) {
  float m = a.v[0];
  for (int i = 1; i < kW; ++i) m = a.v[i] > m ? a.v[i] : m;
  return m;
}
inline VF vexp(VF x) {
  for (int i = 0; i < kW; ++i) x.v[i] = x.v[i] < kExpLo ? 0.0f : std::exp(x.v[i]);
  return x;
}

#elif TK_SIMD_ISA == 2
inline VF vmaxv(VF a, VF b) { return VF{_mm256_max_ps(a.v, b.v)}; }
inline float vhmax(VF a) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline VF vexp(VF xv) {
  const __m256 x0 = xv.v;
  // max/min return their second operand when one is NaN: the constant goes first so NaN survives.
  __m256 x = _mm256_min_ps(_mm256_set1_ps(kExpHi), _mm256_max_ps(_mm256_set1_ps(kExpLo), x0));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 y = _mm256_set1_ps(kP0);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP1));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP2));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP3));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP4));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(kP5));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  y = _mm256_mul_ps(y, _mm256_castsi256_ps(e));
  return VF{_mm256_andnot_ps(_mm256_cmp_ps(x0, _mm256_set1_ps(kExpLo), _CMP_LT_OQ), y)};
}

#elif TK_SIMD_ISA == 3
inline VF vmaxv(VF a, VF b) { return VF{_mm512_max_ps(a.v, b.v)}; }
inline float vhmax(VF a) { return _mm512_reduce_max_ps(a.v); }
inline VF vexp(VF xv) {
  const __m512 x0 = xv.v;
  __m512 x = _mm512_min_ps(_mm512_set1_ps(kExpHi), _mm512_max_ps(_mm512_set1_ps(kExpLo), x0));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 y = _mm512_set1_ps(kP0);
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP1));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP2));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP3));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP4));
  y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(kP5));
  y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  y = _mm512_mul_ps(y, _mm512_castsi512_ps(e));
  const __mmask16 below = _mm512_cmp_ps_mask(x0, _mm512_set1_ps(kExpLo), _CMP_LT_OQ);
  return VF{_mm512_mask_mov_ps(y, below, _mm512_setzero_ps())};
}

#elif TK_SIMD_ISA == 4
inline VF vmaxv(VF a, VF b) { return VF{vmaxq_f32(a.v, b.v)}; }  // NaN-propagating on AArch64
inline float vhmax(VF a) { return vmaxvq_f32(a.v); }
inline VF vexp(VF xv) {
  const float32x4_t x0 = xv.v;
  float32x4_t x = vminq_f32(vdupq_n_f32(kExpHi), vmaxq_f32(vdupq_n_f32(kExpLo), x0));
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(kLog2e)));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(kLn2Hi));
  r = vfmsq_f32(r, n, vdupq_n_f32(kLn2Lo));
  float32x4_t y = vdupq_n_f32(kP0);
  y = vfmaq_f32(vdupq_n_f32(kP1), y, r);
  y = vfmaq_f32(vdupq_n_f32(kP2), y, r);
  y = vfmaq_f32(vdupq_n_f32(kP3), y, r);
  y = vfmaq_f32(vdupq_n_f32(kP4), y, r);
  y = vfmaq_f32(vdupq_n_f32(kP5), y, r);
  y = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), y, vmulq_f32(r, r));
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  y = vmulq_f32(y, vreinterpretq_f32_s32(e));
  const uint32x4_t below = vcltq_f32(x0, vdupq_n_f32(kExpLo));
  return VF{vbslq_f32(below, vdupq_n_f32(0.0f), y)};
}
#endif

}  // namespace
