// Portable W4A4 kernel: integer dot products straight from the packed nibbles, any even group size.
// The fallback on every CPU, and what the ISA kernels are tested against.
#include "w4a4_kernels.h"

namespace tk::w4a4_kernels {

void block_portable(const IntArgs& a, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  const int64_t half = a.K / 2;
  for (int64_t m = m0; m < m1; ++m) {
    const int8_t* x = a.qa + m * a.Kp;
    for (int64_t n = n0; n < n1; ++n) {
      const uint8_t* w = a.w + n * half;
      double y = 0.0;
      for (int64_t g = 0; g < a.G; ++g) {
        int32_t acc = 0;  // |acc| <= gs * 8 * 127: exact for any group that fits in memory
        for (int64_t j = g * a.gs / 2; j < (g + 1) * a.gs / 2; ++j) {
          const int64_t k = 2 * j;
          const int32_t lo = int32_t((w[j] & 0x0F) ^ 8) - 8, hi = int32_t((w[j] >> 4) ^ 8) - 8;
          acc += lo * x[qa_index(k)] + hi * x[qa_index(k + 1)];
        }
        y += double(a.ws[n * a.G + g]) * double(acc);
      }
      a.out[m * a.ldo + n] = float(y);
    }
  }
}

namespace {
bool fits_any(int64_t, int64_t) { return true; }
}  // namespace

// The portable weight-only loop (defined in w4a4_cpu_weight_only.cc).
void weight_only_rows(const WeightOnlyArgs& a, int64_t n0, int64_t n1, float* buf);

void get_kernels_scalar(Kernels* k) {
  k->name = "scalar w4a4";
  k->fits = fits_any;
  k->block = block_portable;
  k->quantize_row = w4a4_quant::quantize_row;
  k->weight_only_rows = weight_only_rows;
}

}  // namespace tk::w4a4_kernels
