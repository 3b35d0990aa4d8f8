// The body of int8mm_quant.h's quantizer, included by each ISA unit inside its own namespace. The
// includer includes <cfloat>, <cmath>, <cstdint>, <cstring> first. Never built with -ffast-math.

// round half to even of |t| < 2^22 in float32 (adding 1.5 * 2^23 leaves no fraction bits).
inline float round_even(float t) {
  const float magic = 12582912.0f;
  return (t + magic) - magic;
}

void quant_rows(const float* x, int64_t K, int64_t m0, int64_t m1, float thr, int8_t* q, float* sx, uint8_t* hit) {
  const bool scan = thr < INFINITY;
  // |x| compared as bit patterns (the order of non-negative floats; Inf = 0x7f800000, NaN above it):
  // integer max and compares vectorize where a float max reduction would not.
  uint32_t tb;
  std::memcpy(&tb, &thr, sizeof tb);
  for (int64_t m = m0; m < m1; ++m) {
    const float* r = x + m * K;
    uint32_t mb = 0;
    int32_t hits = 0;
    for (int64_t k = 0; k < K; ++k) {
      uint32_t b;
      std::memcpy(&b, r + k, sizeof b);
      b &= 0x7fffffffu;
      mb = b > mb ? b : mb;
      hits |= (b >= tb) & (b <= 0x7f800000u);  // NaN never counts
    }
    const bool bad = mb >= 0x7f800000u;  // NaN or Inf
    float mx;
    std::memcpy(&mx, &mb, sizeof mx);
    hit[m] = scan && hits ? 1 : 0;
    const float s = bad ? NAN : mx / 127.0f;
    sx[m] = s;
    int8_t* qr = q + m * K;
    if (bad || s == 0.0f) {
      for (int64_t k = 0; k < K; ++k) qr[k] = 0;
      continue;
    }
    for (int64_t k = 0; k < K; ++k) {
      float t = round_even(r[k] / s);
      t = t < -128.0f ? -128.0f : t > 127.0f ? 127.0f : t;
      qr[k] = static_cast<int8_t>(static_cast<int32_t>(t));
    }
  }
}

void scale_row(const int32_t* acc, const float* sw, float sm, int64_t n, float* y) {
  for (int64_t j = 0; j < n; ++j) y[j] = (sm * sw[j]) * static_cast<float>(acc[j]);
}
