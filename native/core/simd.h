// The float vector each CPU kernel unit computes with (GEMM, attention, SpMM). Include only from an
// <op>_cpu_<isa>.cc after defining TK_SIMD_ISA (1 scalar, 2 avx2, 3 avx512, 4 neon). Everything here
// has internal linkage (anonymous namespace), so the same names compiled with different -m flags
// never merge across units.
#pragma once
#include <cstdint>
#include <cstring>

#include "half.h"

#if TK_SIMD_ISA == 2 || TK_SIMD_ISA == 3
#include <immintrin.h>
#elif TK_SIMD_ISA == 4
#include <arm_neon.h>
#endif

namespace {

#if TK_SIMD_ISA == 1
// Portable: 4 lanes in an array; GCC/Clang vectorize the loops with the baseline SIMD.
constexpr int kW = 4;
struct VF {
  float v[4];
};
inline VF vzero() { return VF{{0, 0, 0, 0}}; }
inline VF vset1(float x) { return VF{{x, x, x, x}}; }
inline VF vload(const float* p) {
  VF r;
  std::memcpy(r.v, p, sizeof r.v);
  return r;
}
inline void vstore(float* p, VF a) { std::memcpy(p, a.v, sizeof a.v); }
inline VF vfma(VF a, VF b, VF c) {
  for (int i = 0; i < 4; ++i) c.v[i] += a.v[i] * b.v[i];
  return c;
}
inline VF vmul(VF a, VF b) {
  for (int i = 0; i < 4; ++i) a.v[i] *= b.v[i];
  return a;
}
inline VF vadd(VF a, VF b) {
  for (int i = 0; i < 4; ++i) a.v[i] += b.v[i];
  return a;
}
inline float vhsum(VF a) { return (a.v[0] + a.v[1]) + (a.v[2] + a.v[3]); }
inline VF vload_f16(const uint16_t* p) {
  VF r;
  for (int i = 0; i < 4; ++i) r.v[i] = tk::f16_to_f32(p[i]);
  return r;
}
inline VF vload_bf16(const uint16_t* p) {
  VF r;
  for (int i = 0; i < 4; ++i) r.v[i] = tk::bf16_to_f32(p[i]);
  return r;
}
inline void prefetch(const void*) {}
inline void prefetch_l2(const void*) {}
inline void in_reg(VF&) {}

#elif TK_SIMD_ISA == 2
constexpr int kW = 8;
struct VF {
  __m256 v;
};
inline VF vzero() { return VF{_mm256_setzero_ps()}; }
inline VF vset1(float x) { return VF{_mm256_set1_ps(x)}; }
inline VF vload(const float* p) { return VF{_mm256_loadu_ps(p)}; }
inline void vstore(float* p, VF a) { _mm256_storeu_ps(p, a.v); }
inline VF vfma(VF a, VF b, VF c) { return VF{_mm256_fmadd_ps(a.v, b.v, c.v)}; }
inline VF vmul(VF a, VF b) { return VF{_mm256_mul_ps(a.v, b.v)}; }
inline VF vadd(VF a, VF b) { return VF{_mm256_add_ps(a.v, b.v)}; }
inline float vhsum(VF a) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline VF vload_f16(const uint16_t* p) { return VF{_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)))}; }
inline VF vload_bf16(const uint16_t* p) {
  __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return VF{_mm256_castsi256_ps(_mm256_slli_epi32(w, 16))};
}
inline void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
inline void prefetch_l2(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1); }
// Pins a loaded vector to a register: GCC otherwise folds its load into every FMA that uses it
// (one load per FMA instead of one per vector: the skinny kernels became load-bound).
inline void in_reg(VF& a) { __asm__("" : "+v"(a.v)); }

#elif TK_SIMD_ISA == 3
constexpr int kW = 16;
struct VF {
  __m512 v;
};
inline VF vzero() { return VF{_mm512_setzero_ps()}; }
inline VF vset1(float x) { return VF{_mm512_set1_ps(x)}; }
inline VF vload(const float* p) { return VF{_mm512_loadu_ps(p)}; }
inline void vstore(float* p, VF a) { _mm512_storeu_ps(p, a.v); }
inline VF vfma(VF a, VF b, VF c) { return VF{_mm512_fmadd_ps(a.v, b.v, c.v)}; }
inline VF vmul(VF a, VF b) { return VF{_mm512_mul_ps(a.v, b.v)}; }
inline VF vadd(VF a, VF b) { return VF{_mm512_add_ps(a.v, b.v)}; }
inline float vhsum(VF a) { return _mm512_reduce_add_ps(a.v); }
inline VF vload_f16(const uint16_t* p) { return VF{_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)))}; }
inline VF vload_bf16(const uint16_t* p) {
  __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return VF{_mm512_castsi512_ps(_mm512_slli_epi32(w, 16))};
}
inline void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }
inline void prefetch_l2(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1); }
// Pins a loaded vector to a register: GCC otherwise folds its load into every FMA that uses it
// (one load per FMA instead of one per vector: the skinny kernels became load-bound).
inline void in_reg(VF& a) { __asm__("" : "+v"(a.v)); }

#elif TK_SIMD_ISA == 4
constexpr int kW = 4;
struct VF {
  float32x4_t v;
};
inline VF vzero() { return VF{vdupq_n_f32(0.0f)}; }
inline VF vset1(float x) { return VF{vdupq_n_f32(x)}; }
inline VF vload(const float* p) { return VF{vld1q_f32(p)}; }
inline void vstore(float* p, VF a) { vst1q_f32(p, a.v); }
inline VF vfma(VF a, VF b, VF c) { return VF{vfmaq_f32(c.v, a.v, b.v)}; }
inline VF vmul(VF a, VF b) { return VF{vmulq_f32(a.v, b.v)}; }
inline VF vadd(VF a, VF b) { return VF{vaddq_f32(a.v, b.v)}; }
inline float vhsum(VF a) { return vaddvq_f32(a.v); }
inline VF vload_f16(const uint16_t* p) { return VF{vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)))}; }
inline VF vload_bf16(const uint16_t* p) { return VF{vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16))}; }
inline void prefetch(const void* p) { __builtin_prefetch(p); }
inline void prefetch_l2(const void* p) { __builtin_prefetch(p, 0, 2); }
inline void in_reg(VF&) {}
#else
#error "define TK_SIMD_ISA before including core/simd.h"
#endif

#if TK_SIMD_ISA == 2 || TK_SIMD_ISA == 3
// 8x8 float transpose in registers (unpack, shuffle, lane permute): packing rows of 8 into columns
// (gemm's B panels from [N, K], attention's K blocks).
inline void transpose8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
  __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
  __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
#endif

// One element of a float / float16 / bfloat16 array as float.
template <class T>
inline float load1(const T* p, int64_t i);
template <>
inline float load1<float>(const float* p, int64_t i) {
  return p[i];
}
struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};
template <>
inline float load1<F16>(const F16* p, int64_t i) {
  return tk::f16_to_f32(p[i].bits);
}
template <>
inline float load1<BF16>(const BF16* p, int64_t i) {
  return tk::bf16_to_f32(p[i].bits);
}

// kW elements of a float / float16 / bfloat16 array as a vector.
template <class T>
inline VF loadv(const T* p);
template <>
inline VF loadv<float>(const float* p) {
  return vload(p);
}
template <>
inline VF loadv<F16>(const F16* p) {
  return vload_f16(reinterpret_cast<const uint16_t*>(p));
}
template <>
inline VF loadv<BF16>(const BF16* p) {
  return vload_bf16(reinterpret_cast<const uint16_t*>(p));
}

}  // namespace
