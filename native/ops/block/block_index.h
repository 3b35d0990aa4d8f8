// Index math and per-element formulas shared by the CPU kernels (block_cpu.cc) and the CUDA kernels
// (block_cuda.cu) as host+device functions: the CPU tests that check the CPU path against float64
// references therefore check the arithmetic the GPU runs too.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define TK_BLOCK_HD __host__ __device__ __forceinline__
#else
#define TK_BLOCK_HD inline
#endif

namespace tk::blk {

// RoPE pair i (0 <= i < D/2): 'interleaved' (llama, llama2.c) rotates (2i, 2i+1), 'half'
// (GPT-NeoX, HF rotate_half) rotates (i, i + D/2). Both use frequency index i.
TK_BLOCK_HD void rope_pair(bool half, int64_t D, int64_t i, int64_t* lo, int64_t* hi) {
  *lo = half ? i : 2 * i;
  *hi = half ? i + D / 2 : 2 * i + 1;
}

// llama2.c's rule, in float: freq = 1 / powf(theta, (2i) / D), angle = pos * freq.
TK_BLOCK_HD float rope_angle(float theta, int64_t D, int64_t i, int64_t pos) {
  const float freq = 1.0f / powf(theta, static_cast<float>(2 * i) / static_cast<float>(D));
  return static_cast<float>(pos) * freq;
}

// (x0, x1) rotated by the angle whose cosine and sine are c and s.
TK_BLOCK_HD void rope_rotate(float x0, float x1, float c, float s, float* y0, float* y1) {
  *y0 = x0 * c - x1 * s;
  *y1 = x0 * s + x1 * c;
}

TK_BLOCK_HD float silu(float x) { return x / (1.0f + expf(-x)); }

// kvAppend: element r of row s of batch b of x goes to cache row pos + s of batch b.
TK_BLOCK_HD int64_t kv_dst_index(int64_t b, int64_t s, int64_t r, int64_t pos, int64_t smax, int64_t row) {
  return ((b * smax) + pos + s) * row + r;
}

// The ordering of argmax and topk: a NaN ranks above every number (the first NaN is the argmax, as in
// NumPy and PyTorch), then larger values first, then the lower index. A strict total order on
// (value, index) pairs, so "the best element after the previous pick" is well defined.
TK_BLOCK_HD bool ranks_before(float va, int64_t ia, float vb, int64_t ib) {
  const bool na = va != va, nb = vb != vb;
  if (na != nb) return na;
  if (!na && va != vb) return va > vb;
  return ia < ib;
}

}  // namespace tk::blk
