// The weight-only path (int4Matmul): float32 activations times int4 weights dequantized on the fly,
// w = (q - z) * s in float32, accumulated in float32. Few rows (decode): each weight row is unpacked
// once into a K-float buffer in L1 and dotted with every activation row, so the 4-bit weights are
// read once. Many rows: the weights are dequantized to float32 once and the fp32 GEMM does the rest.
#include <cstdlib>
#include <memory>
#include <new>

#include "../../core/scratch.h"
#include "../../core/thread_pool.h"
#include "../gemm/gemm.h"
#include "w4a4.h"

namespace tk {
namespace {

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

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

}  // namespace

Status w4a4_weight_only(const W4A4Params& p, const W4A4Shape& s) {
  const uint8_t* w = static_cast<const uint8_t*>(p.w.data);
  const float* ws = p.scales.as<float>();
  const int8_t* zp = p.zero_points.ndim >= 0 ? p.zero_points.as<int8_t>() : nullptr;
  const float* x = p.x.as<float>();
  float* out = p.out.as<float>();
  const float* bias = p.bias.ndim >= 0 ? p.bias.as<float>() : nullptr;
  const int64_t half = s.K / 2;
  if (s.M <= 16) {
    return parallel_for(s.N, 16, [&](int64_t n0, int64_t n1) {
      float* buf = static_cast<float*>(thread_scratch(ScratchSlot::kPackB, size_t(s.K) * sizeof(float) + 64));
      for (int64_t n = n0; n < n1; ++n) {
        dequant_row(w + n * half, ws + n * s.G, zp ? zp + n * s.G : nullptr, s.K, p.group_size, buf);
        for (int64_t m = 0; m < s.M; ++m) out[m * s.N + n] = dot(x + m * s.K, buf, s.K) + (bias ? bias[n] : 0.0f);
      }
    });
  }
  const size_t bytes = size_t(s.N) * size_t(s.K) * sizeof(float);
  std::unique_ptr<float, FreeDeleter> wf(static_cast<float*>(std::aligned_alloc(64, (bytes + 63) & ~size_t(63))));
  if (!wf) throw std::bad_alloc();
  float* wd = wf.get();
  TK_RETURN_IF_ERROR(parallel_for(s.N, 16, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) dequant_row(w + n * half, ws + n * s.G, zp ? zp + n * s.G : nullptr, s.K, p.group_size, wd + n * s.K);
  }));
  GemmParams g;
  g.a = p.x;
  TK_RETURN_IF_ERROR(make_shape(DType::kFloat32, p.w.shape, 2, &g.b));
  g.b.data = wd;
  g.b.device = p.x.device;
  g.c.ndim = -1;
  g.c.data = nullptr;
  g.bias = p.bias;
  g.out = p.out;
  g.trans_b = true;
  return gemm(g);
}

}  // namespace tk
