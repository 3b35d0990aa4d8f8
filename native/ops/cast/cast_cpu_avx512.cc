// AVX-512 (F+BW+VL+DQ) cast kernels; see cast_cpu_avx2.cc for the rules of ISA translation units.
#include <immintrin.h>

#include "../../core/half.h"
#include "cast.h"

namespace tk {
namespace {

inline __m256i bf16_from_ps(__m512 x) {
  __m512i u = _mm512_castps_si512(x);
  __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
  __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  r = _mm512_mask_mov_epi32(r, nan, _mm512_or_si512(u, _mm512_set1_epi32(0x400000)));
  return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

inline __m512 ps_from_bf16(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }

inline __m512 load_ps(DType t, const void* p, long i, __mmask16 m) {
  if (t == DType::kFloat32) return _mm512_maskz_loadu_ps(m, static_cast<const float*>(p) + i);
  __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(p) + i);
  return t == DType::kFloat16 ? _mm512_cvtph_ps(h) : ps_from_bf16(h);
}

inline void store_ps(DType t, void* p, long i, __m512 v, __mmask16 m) {
  if (t == DType::kFloat32) {
    _mm512_mask_storeu_ps(static_cast<float*>(p) + i, m, v);
    return;
  }
  __m256i h = t == DType::kFloat16 ? _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT) : bf16_from_ps(v);
  _mm256_mask_storeu_epi16(static_cast<uint16_t*>(p) + i, m, h);
}

}  // namespace

bool cast_avx512(DType from, DType to, const void* src, void* dst, int64_t n) {
  if (!dtype_is_float(from) || !dtype_is_float(to)) return false;
  long i = 0;
  for (; i + 16 <= n; i += 16) store_ps(to, dst, i, load_ps(from, src, i, 0xffff), 0xffff);
  if (i < n) {
    __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);  // masked tail: no scalar loop
    store_ps(to, dst, i, load_ps(from, src, i, m), m);
  }
  return true;
}

}  // namespace tk
