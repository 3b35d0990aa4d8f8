// The portable LUT kernel: the same lookups one row at a time (the reference order every vector
// kernel follows per lane).
#include "lut_kernels.h"

namespace tk::lut_kernels {
namespace {

void rows(const Args& a, int64_t nb0, int64_t nb1) {
  const int b = int(a.bits);
  const float off = plane_offset(b);
  float wp[4];
  for (int p = 0; p < b; ++p) wp[p] = plane_weight(b, p);
  for (int64_t nb = nb0; nb < nb1; ++nb) {
    const uint32_t* blk = a.planes + nb * a.KC * b * 16;
    const float* sc = a.scales + nb * a.G * 16;
    for (int64_t m = 0; m < a.M; ++m) {
      const float* T = a.tables + m * a.KQ * 16;
      const float* xs = a.xsum + m * a.G;
      float y[16] = {}, acc[16] = {};
      auto quad = [&](int64_t kc, int j, int64_t qi) {
        const uint32_t* wv = blk + kc * b * 16;
        for (int p = 0; p < b; ++p)
          for (int r = 0; r < 16; ++r) acc[r] += T[qi * 16 + ((wv[p * 16 + r] >> (4 * j)) & 15)] * wp[p];
      };
      auto whole_word = [&](int64_t kc) {
        for (int j = 0; j < 8; ++j) quad(kc, j, kc * 8 + j);
      };
      auto group_end = [&](int64_t g) {
        for (int r = 0; r < 16; ++r) {
          const float v = b == 1 ? acc[r] : acc[r] + xs[g] * off;
          y[r] += v * sc[g * 16 + r];
          acc[r] = 0.0f;
        }
      };
      walk_quads(a, whole_word, quad, group_end);
      store_block(a, m, nb, y);
    }
  }
}

}  // namespace

void get_kernels_scalar(Kernels* k) {
  k->name = "scalar lut (float32 tables)";
  k->rows = rows;
}

}  // namespace tk::lut_kernels
