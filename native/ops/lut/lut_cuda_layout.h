// The CUDA LUT kernel's per-thread work (lut_cuda.cu), written once as host+device functions so the
// native self-test (native/tests/lut_cuda_checks.h) emulates the very same code on the host.
// One CTA: kThreads weight rows (one per thread) x kTokens tokens. K goes in chunks of kChunk quads:
//   1. every thread builds table entries of the chunk (kTokens x kChunk x 16 floats in shared memory,
//      entry i of a quad = (±x0 ± x1) + (±x2 ± x3), the CPU's order), then a barrier;
//   2. every thread walks its row's plane words over the chunk: per quad and plane one shared-memory
//      lookup per token (the 16 entries of a quad sit in 16 banks: distinct nibbles never conflict),
//      adding w_p * entry; entry 15 is the quad's sum of x (the offset correction); at each group's
//      end y += s * (acc - sum / 2) (b >= 2) or s * acc (b = 1); then a barrier.
//   3. each thread writes its row's kTokens outputs through the epilogue.
#pragma once
#include <cstdint>
#include <cstring>

#include "../quant_common/matmul_epilogue.h"

#if defined(__CUDACC__)
#define TK_LUT_HD __host__ __device__ __forceinline__
#else
#define TK_LUT_HD inline
#endif

namespace tk::culut {

constexpr int kThreads = 64;  // rows per CTA
constexpr int kTokens = 4;    // tokens per CTA
constexpr int kChunk = 64;    // quads per shared-memory stage (a multiple of 8: whole plane words)
constexpr int kTableFloats = kTokens * kChunk * 16;

struct KArgs {
  const uint32_t* planes;  // lut.h layout
  const float* scales;     // [NB][G][16]
  const void* x;           // float32 or bfloat16 [M, K]
  bool x_bf16;
  int64_t M, N, K, gs, G, Qg, KQ, KC, bits;
  MatmulEpilogue epi;
  float* out;  // [M, N]
};

struct ThreadState {
  float acc[kTokens], xs[kTokens], y[kTokens];
  int64_t g, next;  // the current group and the quad index that ends it
};

TK_LUT_HD float bits_to_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

TK_LUT_HD float load_x(const KArgs& a, int64_t m, int64_t k) {
  if (a.x_bf16) return bits_to_f32(uint32_t(static_cast<const uint16_t*>(a.x)[m * a.K + k]) << 16);
  return static_cast<const float*>(a.x)[m * a.K + k];
}

TK_LUT_HD void init_state(ThreadState& st, const KArgs& a) {
  for (int t = 0; t < kTokens; ++t) st.acc[t] = st.xs[t] = st.y[t] = 0.0f;
  st.g = 0;
  st.next = a.Qg;
}

// Phase 1: thread tid's share of the tables of quads [q0, q0 + kChunk) for tokens [m0, m0 + kTokens).
TK_LUT_HD void build_tables(const KArgs& a, int tid, int64_t q0, int64_t m0, float* tab) {
  for (int e = tid; e < kTokens * kChunk; e += kThreads) {
    const int t = e / kChunk, ql = e % kChunk;
    const int64_t m = m0 + t, qi = q0 + ql;
    float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (m < a.M && qi < a.KQ) {
      const int64_t g = qi / a.Qg, j = qi - g * a.Qg;
      const int64_t kend = (g + 1) * a.gs < a.K ? (g + 1) * a.gs : a.K;
      for (int u = 0; u < 4; ++u) {
        const int64_t k = g * a.gs + 4 * j + u;
        if (k < kend) v[u] = load_x(a, m, k);
      }
    }
    const float lo[4] = {-v[0] - v[1], v[0] - v[1], -v[0] + v[1], v[0] + v[1]};
    const float hi[4] = {-v[2] - v[3], v[2] - v[3], -v[2] + v[3], v[2] + v[3]};
    float* dst = tab + (t * kChunk + ql) * 16;
    for (int i = 0; i < 16; ++i) dst[i] = lo[i & 3] + hi[i >> 2];
  }
}

// Phase 2: row n0 + tid over the chunk's quads.
TK_LUT_HD void consume(const KArgs& a, int tid, int64_t n0, int64_t q0, const float* tab, ThreadState& st) {
  const int64_t n = n0 + tid;
  if (n >= a.N) return;
  const int64_t nb = n >> 4, r = n & 15;
  const int b = int(a.bits);
  const int64_t q1 = q0 + kChunk < a.KQ ? q0 + kChunk : a.KQ;
  for (int64_t kc = q0 / 8; kc * 8 < q1; ++kc) {
    uint32_t w[4] = {0, 0, 0, 0};
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int p = 0; p < 4; ++p)
      if (p < b) w[p] = a.planes[((nb * a.KC + kc) * b + p) * 16 + r];
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
    for (int j = 0; j < 8; ++j) {
      const int64_t qi = kc * 8 + j;
      if (qi >= q1) break;
      const float* e = tab + (qi - q0) * 16;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
      for (int p = 0; p < 4; ++p) {
        if (p >= b) break;
        const int nib = int((w[p] >> (4 * j)) & 15u);
        const float wp = b == 1 ? 1.0f : float(1 << p) * 0.5f;
        for (int t = 0; t < kTokens; ++t) st.acc[t] += wp * e[t * kChunk * 16 + nib];
      }
      for (int t = 0; t < kTokens; ++t) st.xs[t] += e[t * kChunk * 16 + 15];
      if (qi + 1 == st.next) {
        const float s = a.scales[(nb * a.G + st.g) * 16 + r];
        for (int t = 0; t < kTokens; ++t) {
          const float v = b == 1 ? st.acc[t] : st.acc[t] - 0.5f * st.xs[t];
          st.y[t] += s * v;
          st.acc[t] = st.xs[t] = 0.0f;
        }
        ++st.g;
        st.next += a.Qg;
      }
    }
  }
}

// Phase 3: row n0 + tid's outputs for tokens [m0, m0 + kTokens) through the epilogue.
TK_LUT_HD void finish(const KArgs& a, int tid, int64_t n0, int64_t m0, const ThreadState& st) {
  const int64_t n = n0 + tid;
  if (n >= a.N) return;
  for (int t = 0; t < kTokens; ++t) {
    const int64_t m = m0 + t;
    if (m < a.M) a.out[m * a.N + n] = a.epi(m, n, st.y[t]);
  }
}

}  // namespace tk::culut
