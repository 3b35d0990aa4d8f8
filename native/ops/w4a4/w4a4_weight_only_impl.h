// The weight-only decode loop (w4a4_cpu_weight_only.cc), included by the portable unit and by the
// ISA units (compiled with their flags: 8- or 16-wide dequantize and FMA dot products). The includer
// includes <cstdint> and w4a4_kernels.h first.

// Row n of W as float32.
void dequant_row(const uint8_t* w, const float* s, const int8_t* z, int64_t K, int64_t gs, float* dst) {
  const int64_t G = K / gs;
  for (int64_t g = 0; g < G; ++g) {
    const float sc = s[g];
    const int32_t zp = z ? z[g] : 0;
    for (int64_t k = g * gs; k < (g + 1) * gs; k += 2) {
      const uint8_t b = w[k >> 1];
      dst[k] = float((int32_t((b & 0x0F) ^ 8) - 8) - zp) * sc;
      dst[k + 1] = float((int32_t((b >> 4) ^ 8) - 8) - zp) * sc;
    }
  }
}

float dot(const float* a, const float* b, int64_t K) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= K; k += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[k + j] * b[k + j];
  float t = 0.0f;
  for (; k < K; ++k) t += a[k] * b[k];
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + t;
}

// out[m, n] = epi(x[m] . dequant(W[n])) for n in [n0, n1), all m < M: each weight row is
// unpacked once into `buf` (K floats, in L1) and dotted with every activation row.
void weight_only_rows(const tk::w4a4_kernels::WeightOnlyArgs& a, int64_t n0, int64_t n1, float* buf) {
  const int64_t half = a.K / 2, G = a.K / a.gs;
  for (int64_t n = n0; n < n1; ++n) {
    dequant_row(a.w + n * half, a.ws + n * G, a.zp ? a.zp + n * G : nullptr, a.K, a.gs, buf);
    for (int64_t m = 0; m < a.M; ++m) a.out[m * a.ldo + n] = a.epi(m, n, dot(a.x + m * a.K, buf, a.K));
  }
}
