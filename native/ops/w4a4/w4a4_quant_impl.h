// The body of the contract quantizer (w4a4_quant.h), included into namespaces by w4a4_quant.cc
// (portable build) and by the ISA units (the same source compiled with their flags, so the compiler
// vectorizes it 8 or 16 wide). Only IEEE add, sub, mul, div and compares: the results are the same
// bits at every vector width (the build never uses -ffast-math, and nothing here has the a * b + c
// shape FMA contraction would change). The includer includes <cfloat>, <cmath>, <cstring> and
// w4a4_kernels.h / w4a4_quant.h first.

// round half to even of |t| < 2^22 in float32: adding 1.5 * 2^23 leaves no fraction bits, and IEEE
// addition rounds to nearest even. Vectorizes (unlike nearbyint without SSE4.1).
inline float round_even(float t) {
  const float magic = 12582912.0f;  // the build never uses -ffast-math, which would fold this away
  return (t + magic) - magic;
}

struct Scale {
  float s;
  bool bad;
};

// The maximum runs in 16 independent lanes (a per-lane select the compiler vectorizes; one running
// maximum is a serial chain it may not reorder) and the lanes are combined at the end: the maximum of
// finite values is the same whatever the order, and a NaN or Inf anywhere gives NaN regardless.
inline Scale row_scale(const float* v, int64_t K, float qmax) {
  constexpr int kLanes = 16;
  float mxl[kLanes] = {};
  int badl[kLanes] = {};
  const int64_t full = K & ~int64_t(kLanes - 1);
  for (int64_t k = 0; k < full; k += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const float a = std::fabs(v[k + j]);
      badl[j] |= !(a <= FLT_MAX);  // NaN or Inf
      mxl[j] = a > mxl[j] ? a : mxl[j];
    }
  }
  float mx = 0.0f;
  bool bad = false;
  for (int64_t k = full; k < K; ++k) {
    const float a = std::fabs(v[k]);
    bad |= !(a <= FLT_MAX);
    mx = a > mx ? a : mx;
  }
  for (int j = 0; j < kLanes; ++j) {
    bad |= badl[j] != 0;
    mx = mxl[j] > mx ? mxl[j] : mx;
  }
  if (bad) return {NAN, true};
  return {mx / qmax, false};
}

void hadamard_rows(float* v, int64_t K, int64_t block) {
  const float c = static_cast<float>(1.0 / std::sqrt(static_cast<double>(block)));
  for (int64_t b0 = 0; b0 < K; b0 += block) {
    float* x = v + b0;
    for (int64_t h = 1; h < block; h *= 2) {
      for (int64_t i = 0; i < block; i += 2 * h) {
        for (int64_t j = i; j < i + h; ++j) {
          const float p = x[j], q = x[j + h];
          x[j] = p + q;
          x[j + h] = p - q;
        }
      }
    }
    for (int64_t j = 0; j < block; ++j) x[j] *= c;
  }
}

void quantize_row(const float* x, int64_t K, int bits, int64_t block, const int32_t* oidx, int64_t nO, float* buf, const RowOut& o) {
  const float qmax = bits == 8 ? 127.0f : 7.0f, qmin = bits == 8 ? -128.0f : -8.0f;
  std::memcpy(buf, x, size_t(K) * sizeof(float));
  if (nO > 0) {
    float mo = 0.0f;
    bool bad = false;
    for (int64_t j = 0; j < nO; ++j) {
      const float a = std::fabs(buf[oidx[j]]);
      bad |= !(a <= FLT_MAX);
      mo = a > mo ? a : mo;
    }
    const float so = bad ? NAN : mo / 127.0f;
    *o.so = so;
    for (int64_t j = 0; j < nO; ++j) {
      const float v = buf[oidx[j]];
      float q = (bad || so == 0.0f) ? 0.0f : round_even(v / so);
      q = q < -128.0f ? -128.0f : q > 127.0f ? 127.0f : q;
      o.qo[j] = static_cast<int8_t>(q);
      buf[oidx[j]] = 0.0f;
    }
  }
  if (block > 0) hadamard_rows(buf, K, block);
  const Scale sc = row_scale(buf, K, qmax);
  *o.scale = sc.s;
  const bool zero = sc.bad || sc.s == 0.0f;
  const float s = zero ? 1.0f : sc.s;
  // Quantize in place (as floats), then scatter.
  for (int64_t k = 0; k < K; ++k) {
    float q = zero ? 0.0f : round_even(buf[k] / s);
    buf[k] = q < qmin ? qmin : q > qmax ? qmax : q;
  }
  // Through a local pointer: an int8 store may alias anything, o.q included, and would make the
  // compiler reload o.q after every store instead of vectorizing.
  int8_t* const q = o.q;
  if (o.chunked) {
    const int64_t Kp = (K + 63) & ~int64_t(63);
    if (Kp > K) std::memset(q + (K & ~int64_t(63)), 0, 64);
    const int64_t full = K & ~int64_t(63);
    for (int64_t c = 0; c < full; c += 64) {
      for (int j = 0; j < 32; ++j) q[c + j] = static_cast<int8_t>(buf[c + 2 * j]);
      for (int j = 0; j < 32; ++j) q[c + 32 + j] = static_cast<int8_t>(buf[c + 2 * j + 1]);
    }
    for (int64_t k = full; k < K; k += 2) {
      const int64_t i = w4a4_kernels::qa_index(k);
      q[i] = static_cast<int8_t>(buf[k]);
      q[i + 32] = static_cast<int8_t>(buf[k + 1]);
    }
  } else {
    for (int64_t k = 0; k < K; ++k) q[k] = static_cast<int8_t>(buf[k]);
  }
  if (o.corr) {
    const int64_t G = K / o.gs;
    for (int64_t g = 0; g < G; ++g) {
      int32_t sum = 0;
      for (int64_t k = g * o.gs; k < (g + 1) * o.gs; ++k) sum += static_cast<int32_t>(buf[k]);
      o.corr[g] = 8 * sum;
    }
  }
}
