// NEON LUT kernel: a quad's 16 float32 partial sums are 64 table bytes (4 q registers) and tbl
// (vqtbl4q_u8) looks up 4 rows' floats at once: each row's nibble i becomes the byte indices
// 4i .. 4i + 3 of its float.
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

#include "lut_kernels.h"

namespace tk::lut_kernels {
#if defined(__aarch64__)
namespace {

template <int B, int MT>
void block(const Args& a, int64_t nb, int64_t m0) {
  const uint32_t* blk = a.planes + nb * a.KC * B * 16;
  const float* sc = a.scales + nb * a.G * 16;
  const float* T[MT];
  const float* xs[MT];
  float32x4_t y[MT][4], acc[MT][4];
  for (int t = 0; t < MT; ++t) {
    T[t] = a.tables + (m0 + t) * a.KQ * 16;
    xs[t] = a.xsum + (m0 + t) * a.G;
    for (int h = 0; h < 4; ++h) y[t][h] = acc[t][h] = vdupq_n_f32(0.0f);
  }
  const uint32x4_t nib = vdupq_n_u32(15), bytes = vdupq_n_u32(0x03020100u);
  auto quad = [&](int64_t kc, int j, int64_t qi) {
    const uint32_t* wv = blk + kc * B * 16;
    const int32x4_t sh = vdupq_n_s32(-4 * j);
    uint8x16x4_t tab[MT];
    for (int t = 0; t < MT; ++t) tab[t] = vld1q_u8_x4(reinterpret_cast<const uint8_t*>(T[t] + qi * 16));
#pragma GCC unroll 4
    for (int p = 0; p < B; ++p) {
      const float wp = plane_weight(B, p);
#pragma GCC unroll 4
      for (int h = 0; h < 4; ++h) {
        const uint32x4_t i = vandq_u32(vshlq_u32(vld1q_u32(wv + p * 16 + 4 * h), sh), nib);
        const uint8x16_t idx = vreinterpretq_u8_u32(vmlaq_n_u32(bytes, i, 0x04040404u));
        for (int t = 0; t < MT; ++t) acc[t][h] = vfmaq_n_f32(acc[t][h], vreinterpretq_f32_u8(vqtbl4q_u8(tab[t], idx)), wp);
      }
    }
  };
  auto whole_word = [&](int64_t kc) {
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) quad(kc, j, kc * 8 + j);
  };
  auto group_end = [&](int64_t g) {
    for (int h = 0; h < 4; ++h) {
      const float32x4_t s = vld1q_f32(sc + g * 16 + 4 * h);
      for (int t = 0; t < MT; ++t) {
        const float32x4_t v = B == 1 ? acc[t][h] : vfmaq_n_f32(acc[t][h], vdupq_n_f32(xs[t][g]), plane_offset(B));
        y[t][h] = vfmaq_f32(y[t][h], v, s);
        acc[t][h] = vdupq_n_f32(0.0f);
      }
    }
  };
  walk_quads(a, whole_word, quad, group_end);
  float r[16];
  for (int t = 0; t < MT; ++t) {
    for (int h = 0; h < 4; ++h) vst1q_f32(r + 4 * h, y[t][h]);
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

void get_kernels_neon(Kernels* k) {
  k->name = "neon lut (tbl, float32 tables)";
  k->rows = rows;
}
#else
void get_kernels_neon(Kernels*) {}
#endif

}  // namespace tk::lut_kernels
