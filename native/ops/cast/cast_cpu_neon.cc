// NEON cast kernels (AArch64: float16 conversions are part of the base ISA).
#include <arm_neon.h>

#include "../../core/half.h"
#include "cast.h"

namespace tk {
namespace {

inline float32x4_t load4(DType t, const void* p, long i) {
  if (t == DType::kFloat32) return vld1q_f32(static_cast<const float*>(p) + i);
  uint16x4_t h = vld1_u16(static_cast<const uint16_t*>(p) + i);
  if (t == DType::kFloat16) return vcvt_f32_f16(vreinterpret_f16_u16(h));
  return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
}

inline uint16x4_t bf16_from(float32x4_t x) {
  uint32x4_t u = vreinterpretq_u32_f32(x);
  uint32x4_t lsb = vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1));
  uint32x4_t r = vaddq_u32(u, vaddq_u32(lsb, vdupq_n_u32(0x7fff)));
  uint32x4_t ok = vceqq_f32(x, x);  // all ones unless NaN
  r = vbslq_u32(ok, r, vorrq_u32(u, vdupq_n_u32(0x400000)));
  return vshrn_n_u32(r, 16);
}

inline void store4(DType t, void* p, long i, float32x4_t v) {
  if (t == DType::kFloat32) {
    vst1q_f32(static_cast<float*>(p) + i, v);
    return;
  }
  uint16x4_t h = t == DType::kFloat16 ? vreinterpret_u16_f16(vcvt_f16_f32(v)) : bf16_from(v);
  vst1_u16(static_cast<uint16_t*>(p) + i, h);
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

bool cast_neon(DType from, DType to, const void* src, void* dst, int64_t n) {
  if (!dtype_is_float(from) || !dtype_is_float(to)) return false;
  long i = 0;
  for (; i + 4 <= n; i += 4) store4(to, dst, i, load4(from, src, i));
  for (; i < n; ++i) store1(to, dst, i, load1(from, src, i));
  return true;
}

}  // namespace tk
