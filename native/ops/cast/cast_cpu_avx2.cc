// AVX2 + F16C cast kernels. Compiled with -mavx2 -mfma -mf16c, called only when CPUID says so.
// ISA translation units define nothing with external linkage but their entry point, and instantiate
// no std:: templates, so no AVX2 code can be merged into code that runs on older CPUs.
#include <immintrin.h>

#include "../../core/half.h"
#include "cast.h"

namespace tk {
namespace {

// float32 -> bfloat16 bits, round to nearest even, NaN quieted; 8 lanes -> 8 x u16 in the low half.
inline __m128i bf16_from_ps(__m256 x) {
  __m256i u = _mm256_castps_si256(x);
  __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff)));
  __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q));
  __m256i q = _mm256_or_si256(u, _mm256_set1_epi32(0x400000));  // quiet NaN, keep its top payload
  r = _mm256_blendv_epi8(r, q, nan);
  r = _mm256_srli_epi32(r, 16);
  __m128i lo = _mm256_castsi256_si128(r), hi = _mm256_extracti128_si256(r, 1);
  return _mm_packus_epi32(lo, hi);
}

inline __m256 ps_from_bf16(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }

inline __m256 load_ps(DType t, const void* p, long i) {
  if (t == DType::kFloat32) return _mm256_loadu_ps(static_cast<const float*>(p) + i);
  __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(p) + i));
  return t == DType::kFloat16 ? _mm256_cvtph_ps(h) : ps_from_bf16(h);
}

inline void store_ps(DType t, void* p, long i, __m256 v) {
  if (t == DType::kFloat32) {
    _mm256_storeu_ps(static_cast<float*>(p) + i, v);
    return;
  }
  __m128i h = t == DType::kFloat16 ? _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT) : bf16_from_ps(v);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(static_cast<uint16_t*>(p) + i), h);
}

inline float load1(DType t, const void* p, long i) {
  if (t == DType::kFloat32) return static_cast<const float*>(p)[i];
  uint16_t h = static_cast<const uint16_t*>(p)[i];
  return t == DType::kFloat16 ? f16_to_f32(h) : bf16_to_f32(h);
}

inline void store1(DType t, void* p, long i, float v) {
  if (t == DType::kFloat32)
    static_cast<float*>(p)[i] = v;
  else
    static_cast<uint16_t*>(p)[i] = t == DType::kFloat16 ? f32_to_f16(v) : f32_to_bf16(v);
}

}  // namespace

bool cast_avx2(DType from, DType to, const void* src, void* dst, int64_t n) {
  if (!dtype_is_float(from) || !dtype_is_float(to)) return false;
  long i = 0;
  for (; i + 8 <= n; i += 8) store_ps(to, dst, i, load_ps(from, src, i));
  for (; i < n; ++i) store1(to, dst, i, load1(from, src, i));
  return true;
}

}  // namespace tk
