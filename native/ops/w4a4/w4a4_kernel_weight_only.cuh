// weight_only, weight_only_tc: int4Matmul on CUDA, fp32 FMA and bf16 tensor cores (see w4a4_kernel_common.cuh).
#pragma once
#include <cfloat>
#include <cstdint>

#include "w4a4_kernel_common.cuh"

namespace tk::cuw4a4 {

// ---- weight-only (int4Matmul) ----------------------------------------------------------------------------
struct WeightOnlyArgs {
  const float* x;    // [M, K]
  const uint8_t* w;  // [N, K/2]
  const float* ws;   // [N, G]
  const int8_t* zp;  // [N, G] or null
  MatmulEpilogue epi;
  float* out;  // [M, N]
  int64_t M, N, K, G, gs;
};

// One warp per weight row and a run of up to kWoRows (w4a4_configs.h) activation rows: each weight is
// dequantized once per run ((q - z) * s in fp32, as the CPU) and multiplied into every row of the run;
// fp32 FMA.
__global__ void __launch_bounds__(kGridThreads) weight_only(WeightOnlyArgs p) {
  const int lane = threadIdx.x & 31;
  const int64_t runs = (p.M + kWoRows - 1) / kWoRows;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t o = blockIdx.x * int64_t(blockDim.x >> 5) + (threadIdx.x >> 5); o < p.N * runs; o += warps) {
    const int64_t n = o % p.N, m0 = (o / p.N) * kWoRows;
    const int rows = int(p.M - m0 < kWoRows ? p.M - m0 : kWoRows);
    float acc[kWoRows] = {};
    const uint8_t* wr = p.w + n * (p.K / 2);
    for (int64_t j = lane; j < p.K / 2; j += 32) {
      const int64_t g = 2 * j / p.gs;
      const float sc = p.ws[n * p.G + g];
      const int32_t z = p.zp ? p.zp[n * p.G + g] : 0;
      const int32_t b = wr[j];
      const float w0 = __fmul_rn(float((((b & 15) ^ 8) - 8) - z), sc), w1 = __fmul_rn(float((((b >> 4) ^ 8) - 8) - z), sc);
#pragma unroll
      for (int r = 0; r < kWoRows; ++r) {
        if (r < rows) {
          const float* xr = p.x + (m0 + r) * p.K + 2 * j;
          acc[r] = __fmaf_rn(xr[0], w0, acc[r]);
          acc[r] = __fmaf_rn(xr[1], w1, acc[r]);
        }
      }
    }
#pragma unroll
    for (int r = 0; r < kWoRows; ++r) {
      float v = acc[r];
      for (int s = 16; s > 0; s >>= 1) v += __shfl_xor_sync(0xffffffffu, v, s);
      if (lane == 0 && r < rows) p.out[(m0 + r) * p.N + n] = p.epi(m0 + r, n, v);
    }
  }
}

// ---- weight-only on tensor cores (int4Matmul on sm_80+) ----------------------------------------------
// mma.m16n8k16.bf16 with fp32 accumulation: W dequantized in registers to the exact bf16 integers
// q - z, x split on load into three bf16 terms whose sum is x exactly (w4a4_cuda_layout.h), the
// group's scale applied to its fp32 partial in the flush. A CTA = 4 warps on one block of 32 weight
// columns and 16 MI activation rows; the warps take consecutive runs of the CTA's k chunks and their
// sums are added in shared memory in warp order. Decode (few rows, few column blocks): the grid is
// split along K too (blockIdx.y), each split writes its partial to a workspace and weight_only_reduce
// adds the splits in order -- deterministic, no atomics. Operands straight from global memory (no
// shared-memory staging: decode reads each weight once; rows of x stay in L1 / L2).
struct WoTcArgs {
  const float* x;    // [M, K]
  const uint8_t* w;  // [N, K/2]
  const float* ws;   // [N, G]
  const int8_t* zp;  // [N, G] or null
  MatmulEpilogue epi;
  float* out;   // [M, N]
  float* part;  // [splits, M, N] when split along K, else null
  int64_t M, N, K, G, gs;
  int chunks, cps;  // chunks of K, chunks per split
};
// kWoWarps warps; 8 * kWoNI weight columns (kWoNI mma n-blocks) per CTA (w4a4_configs.h).

template <int V>
__device__ __forceinline__ void wo_load_words(const uint8_t* src, bool in, uint32_t (&d)[V]) {
  if constexpr (V == 4) {
    const uint4 v = in ? *reinterpret_cast<const uint4*>(src) : make_uint4(0, 0, 0, 0);
    d[0] = v.x, d[1] = v.y, d[2] = v.z, d[3] = v.w;
  } else if constexpr (V == 2) {
    const uint2 v = in ? *reinterpret_cast<const uint2*>(src) : make_uint2(0, 0);
    d[0] = v.x, d[1] = v.y;
  } else {
    d[0] = in ? *reinterpret_cast<const uint32_t*>(src) : 0u;
  }
}

template <int V, int MI>
__global__ void __launch_bounds__(kWoWarps * 32, 1) weight_only_tc(WoTcArgs p) {
#if __CUDA_ARCH__ >= 800
  constexpr int NI = kWoNI, BMR = 16 * MI, BNC = 8 * NI;
  __shared__ float red[kWoWarps][BMR][BNC];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, g = lane >> 2, t = lane & 3;
  const int64_t n0 = int64_t(blockIdx.x) * BNC, m0 = int64_t(blockIdx.z) * BMR;
  const int c_begin = int(blockIdx.y) * p.cps, c_end = min(p.chunks, c_begin + p.cps);
  const int per = (c_end - c_begin + kWoWarps - 1) / kWoWarps;
  const int cb = c_begin + warp * per, ce = min(c_end, cb + per);
  const int64_t half = p.K / 2;

  const uint8_t* wrow[NI];
  bool win[NI];
#pragma unroll
  for (int ni = 0; ni < NI; ++ni) {
    const int64_t n = n0 + ni * 8 + g;
    win[ni] = n < p.N;
    wrow[ni] = p.w + (win[ni] ? n : 0) * half;
  }
  const float* xrow[MI][2];
  bool xin[MI][2];
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int hr = 0; hr < 2; ++hr) {
      const int64_t m = m0 + mi * 16 + g + 8 * hr;
      xin[mi][hr] = m < p.M;
      xrow[mi][hr] = p.x + (xin[mi][hr] ? m : 0) * p.K;
    }

  bool hi_rows[MI];  // the warp has rows g + 8 of block mi at all (uniform across the warp)
#pragma unroll
  for (int mi = 0; mi < MI; ++mi) hi_rows[mi] = m0 + mi * 16 + 8 < p.M;
  float acc[MI][NI][4], facc[MI][NI][4];
#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int ni = 0; ni < NI; ++ni)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[mi][ni][e] = 0.0f, facc[mi][ni][e] = 0.0f;

  auto flush = [&](int64_t grp) {
#pragma unroll
    for (int ni = 0; ni < NI; ++ni)
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        const int64_t n = n0 + ni * 8 + 2 * t + c;
        const float sc = n < p.N ? p.ws[n * p.G + grp] : 0.0f;
#pragma unroll
        for (int mi = 0; mi < MI; ++mi)
#pragma unroll
          for (int e = c; e < 4; e += 2) facc[mi][ni][e] = __fmaf_rn(sc, acc[mi][ni][e], facc[mi][ni][e]), acc[mi][ni][e] = 0.0f;
      }
  };

  uint32_t wnext[NI][V];
#pragma unroll
  for (int ni = 0; ni < NI; ++ni) wo_load_words<V>(wrow[ni] + wo_w_byte(V, t, cb), win[ni] && cb < ce, wnext[ni]);
  int64_t grp = -1;
  float zb[NI];
#pragma unroll 1
  for (int c = cb; c < ce; ++c) {
    uint32_t wv[NI][V];
#pragma unroll
    for (int ni = 0; ni < NI; ++ni)
#pragma unroll
      for (int j = 0; j < V; ++j) wv[ni][j] = wnext[ni][j];
    if (c + 1 < ce) {  // the next chunk's weights in flight while this one computes
#pragma unroll
      for (int ni = 0; ni < NI; ++ni) wo_load_words<V>(wrow[ni] + wo_w_byte(V, t, c + 1), win[ni], wnext[ni]);
    }
    const int64_t gc = int64_t(c) * wo_chunk_k(V) / p.gs;
    if (gc != grp) {
      if (grp >= 0) flush(grp);
      grp = gc;
#pragma unroll
      for (int ni = 0; ni < NI; ++ni) {
        const int64_t n = n0 + ni * 8 + g;
        zb[ni] = wo_zero_bias(p.zp && win[ni] ? int(p.zp[n * p.G + grp]) : 0);
      }
    }
    const int64_t xk = wo_x_k(V, t, c);
#pragma unroll
    for (int j = 0; j < V; ++j) {
      float xv[MI][2][8];
#pragma unroll
      for (int mi = 0; mi < MI; ++mi)
#pragma unroll
        for (int hr = 0; hr < 2; ++hr) {
          const float4* src = reinterpret_cast<const float4*>(xrow[mi][hr] + xk + 8 * j);
          const float4 u = xin[mi][hr] ? src[0] : make_float4(0.f, 0.f, 0.f, 0.f);
          const float4 v = xin[mi][hr] ? src[1] : make_float4(0.f, 0.f, 0.f, 0.f);
          xv[mi][hr][0] = u.x, xv[mi][hr][1] = u.y, xv[mi][hr][2] = u.z, xv[mi][hr][3] = u.w;
          xv[mi][hr][4] = v.x, xv[mi][hr][5] = v.y, xv[mi][hr][6] = v.z, xv[mi][hr][7] = v.w;
        }
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        uint32_t a[MI][3][4];  // [mi][bf16 term][A register]
#pragma unroll
        for (int mi = 0; mi < MI; ++mi)
#pragma unroll
          for (int R = 0; R < 4; ++R) {  // A register R: row g + 8 (R & 1), k half r = R >> 1
            uint32_t s3[3] = {0u, 0u, 0u};
            const float* xs = xv[mi][R & 1] + 4 * h + 2 * (R >> 1);
            // decode tiles (MI 1): warp-uniform skip of the rows g + 8 when M <= 8 (32-row tiles: registers)
            if (MI > 1 || !(R & 1) || hi_rows[mi]) wo_split3(xs[0], xs[1], s3);
#pragma unroll
            for (int s = 0; s < 3; ++s) a[mi][s][R] = s3[s];
          }
#pragma unroll
        for (int ni = 0; ni < NI; ++ni) {
          uint32_t b[2];
#pragma unroll
          for (int r = 0; r < 2; ++r)
            b[r] = wo_pack_bf16(wo_deq(wv[ni][j], wo_nib(h, r, 0), zb[ni]), wo_deq(wv[ni][j], wo_nib(h, r, 1), zb[ni]));
#pragma unroll
          for (int mi = 0; mi < MI; ++mi)
#pragma unroll
            for (int s = 0; s < 3; ++s) sm80::mma(acc[mi][ni], a[mi][s], b, __nv_bfloat16());
        }
      }
    }
  }
  if (grp >= 0) flush(grp);

#pragma unroll
  for (int mi = 0; mi < MI; ++mi)
#pragma unroll
    for (int ni = 0; ni < NI; ++ni)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const cugemm::RowCol rc = cugemm::frag_c(lane, e);
        red[warp][mi * 16 + rc.row][ni * 8 + rc.col] = facc[mi][ni][e];
      }
  __syncthreads();
  for (int i = threadIdx.x; i < BMR * BNC; i += kWoWarps * 32) {
    const int r = i / BNC, col = i % BNC;
    const int64_t m = m0 + r, n = n0 + col;
    if (m >= p.M || n >= p.N) continue;
    float v = red[0][r][col];
#pragma unroll
    for (int w = 1; w < kWoWarps; ++w) v = __fadd_rn(v, red[w][r][col]);
    if (p.part) {
      p.part[(int64_t(blockIdx.y) * p.M + m) * p.N + n] = v;
    } else {
      p.out[m * p.N + n] = p.epi(m, n, v);
    }
  }
#endif
}

// out = the epilogue of the k splits' partials added in split order.
__global__ void weight_only_reduce(const float* part, int splits, MatmulEpilogue epi, float* out, int64_t M, int64_t N) {
  const int64_t MN = M * N;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < MN; i += int64_t(gridDim.x) * blockDim.x) {
    float v = part[i];
    for (int s = 1; s < splits; ++s) v = __fadd_rn(v, part[s * MN + i]);
    out[i] = epi(i / N, i % N, v);
  }
}

// out = the epilogue of 0 when K == 0.
__global__ void fill_epilogue(float* out, MatmulEpilogue epi, int64_t M, int64_t N) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < M * N; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = epi(i / N, i % N, 0.0f);
}

// Rotated weights on the weight-only path: y = x with each block of `rb` columns rotated by the
// block Hadamard transform of the quantizer (butterflies h = 1, 2, 4, ... then a multiply by rc,
// in float32 as w4a4_quant::hadamard_rows). One CTA per (row, block); rb <= 256.
__global__ void rotate_rows(const float* x, float* y, int64_t K, int rb, float rc) {
  __shared__ float v[256];
  const int64_t row = blockIdx.y, b0 = int64_t(blockIdx.x) * rb;
  for (int j = threadIdx.x; j < rb; j += blockDim.x) v[j] = x[row * K + b0 + j];
  __syncthreads();
  for (int h = 1; h < rb; h *= 2) {
    for (int t = threadIdx.x; t < rb / 2; t += blockDim.x) {
      const int i = (t / h) * 2 * h + (t % h);
      const float a = v[i], b = v[i + h];
      v[i] = __fadd_rn(a, b);
      v[i + h] = __fsub_rn(a, b);
    }
    __syncthreads();
  }
  for (int j = threadIdx.x; j < rb; j += blockDim.x) y[row * K + b0 + j] = __fmul_rn(v[j], rc);
}

}  // namespace tk::cuw4a4
