// Device code of the CUDA W4A4 path (w4a4_cuda.cu launches it; index math in w4a4_cuda_layout.h):
//   quantize_rows  the fused per-token activation quantizer (outlier channels split off at int8, block
//                  Hadamard, max |x| / qmax, round half even, clamp) writing the GEMM's operand layout;
//   w4a4_tc        the tensor-core GEMM: cp.async (sync copies on sm_75) into the GEMM's swizzled
//                  stages, ldmatrix, mma.m16n8k64.s4 (sm_80+) / 4 x m8n8k32.s4 (sm_75) or the int8
//                  route (two m16n8k32.s8 per step, nibbles unpacked in registers: Hopper, W4A8),
//                  int32 partials per group folded into fp32 with the group's scale, fused epilogue
//                  (s_x, outlier channels, bias);
//   w4a4_simt      exact integer fallback: any even group size, any K, every arch;
//   weight_only_tc int4Matmul on sm_80+: weights dequantized in registers to bf16, x split into three
//                  exact bf16 terms, mma.m16n8k16 with fp32 accumulation, split-K for decode;
//   weight_only    float activations x dequantized int4 weights (int4Matmul), fp32 FMA (sm_75, odd groups).
// The quantizer's float arithmetic is the contract's (w4a4.h, w4a4_quant_impl.h) operation by
// operation with explicitly rounded intrinsics (no FMA contraction), so q and s_x are the CPU's bits
// and every integer partial equals the CPU's.
#pragma once
#include <cfloat>
#include <cstdint>

#include "../../cuda/sm80.cuh"
#include "../gemm/gemm_configs.h"
#include "../gemm/gemm_cuda_layout.h"
#include "w4a4_cuda_layout.h"

namespace tk::cuw4a4 {

// ---- the fused activation quantizer ---------------------------------------------------------------
struct QuantArgs {
  const float* x;  // [M, K]
  int64_t M, K;
  int64_t rb;           // rotation block, 0: none
  float rc;             // fround(1 / sqrt(rb)), computed on the host exactly as the CPU does
  const int32_t* oidx;  // [nO] or null
  int nO;
  int bits;     // 4 or 8
  uint8_t* qa;  // [M, lda] in the GEMM's layout
  int64_t lda;
  float* sx;   // [M]
  int8_t* qo;  // [M, nO]
  float* so;   // [M]
};

constexpr int kQuantThreads = 256;
constexpr int kQuantChunk = 2048;  // floats of a row staged in shared memory at a time (a multiple of every rotation block)

struct MaxBad {
  float mx;
  int bad;
};

// Block-wide max and "any NaN / Inf" (max of non-negative floats is exact in any order).
__device__ __forceinline__ MaxBad block_maxbad(float mx, int bad, float* red_f, int* red_i) {
  for (int o = 16; o > 0; o >>= 1) {
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
    bad |= __shfl_xor_sync(0xffffffffu, bad, o);
  }
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  __syncthreads();  // red_* may still be read from a previous call
  if (lane == 0) red_f[warp] = mx, red_i[warp] = bad;
  __syncthreads();
  mx = 0.0f, bad = 0;
  for (int w = 0; w < kQuantThreads / 32; ++w) mx = fmaxf(mx, red_f[w]), bad |= red_i[w];
  return {mx, bad};
}

__device__ __forceinline__ float clampq(float q, float lo, float hi) { return q < lo ? lo : q > hi ? hi : q; }

// One CTA per row. Pass 1 stages the row chunk by chunk (outliers zeroed, rotated) for max |v|;
// pass 2 rebuilds each chunk (the same operations, the same bits) and quantizes it. A row that fits
// one chunk is built once.
__global__ void __launch_bounds__(kQuantThreads) quantize_rows(QuantArgs a) {
  __shared__ float buf[kQuantChunk];
  __shared__ float red_f[kQuantThreads / 32];
  __shared__ int red_i[kQuantThreads / 32];
  const int64_t m = blockIdx.x;
  const int tid = threadIdx.x;
  const float* xr = a.x + m * a.K;

  if (a.nO > 0) {  // outlier channels at int8 from the original values
    float mo = 0.0f;
    int bad = 0;
    for (int j = tid; j < a.nO; j += kQuantThreads) {
      const float v = fabsf(xr[a.oidx[j]]);
      bad |= !(v <= FLT_MAX);
      mo = v > mo ? v : mo;
    }
    const MaxBad r = block_maxbad(mo, bad, red_f, red_i);
    const float so = r.bad ? __int_as_float(0x7fc00000) : __fdiv_rn(r.mx, 127.0f);
    if (tid == 0) a.so[m] = so;
    for (int j = tid; j < a.nO; j += kQuantThreads) {
      const float q = (r.bad || so == 0.0f) ? 0.0f : rintf(__fdiv_rn(xr[a.oidx[j]], so));
      a.qo[m * a.nO + j] = static_cast<int8_t>(clampq(q, -128.0f, 127.0f));
    }
  }

  auto build = [&](int64_t c0, int len) {
    __syncthreads();  // buf is free
    for (int i = tid; i < len; i += kQuantThreads) buf[i] = xr[c0 + i];
    __syncthreads();
    for (int j = tid; j < a.nO; j += kQuantThreads) {
      const int64_t k = a.oidx[j];
      if (k >= c0 && k < c0 + len) buf[k - c0] = 0.0f;
    }
    if (a.rb > 0) {
      __syncthreads();
      for (int h = 1; h < a.rb; h *= 2) {  // the contract's butterfly order: h = 1, 2, 4, ...
        for (int p = tid; p < len / 2; p += kQuantThreads) {
          const int j = (p / h) * 2 * h + p % h;
          const float u = buf[j], v = buf[j + h];
          buf[j] = __fadd_rn(u, v);
          buf[j + h] = __fsub_rn(u, v);
        }
        __syncthreads();
      }
      for (int i = tid; i < len; i += kQuantThreads) buf[i] = __fmul_rn(buf[i], a.rc);
    }
    __syncthreads();
  };

  const float qmax = a.bits == 8 ? 127.0f : 7.0f, qmin = a.bits == 8 ? -128.0f : -8.0f;
  float mx = 0.0f;
  int bad = 0;
  for (int64_t c0 = 0; c0 < a.K; c0 += kQuantChunk) {
    const int len = int(a.K - c0 < kQuantChunk ? a.K - c0 : kQuantChunk);
    build(c0, len);
    for (int i = tid; i < len; i += kQuantThreads) {
      const float v = fabsf(buf[i]);
      bad |= !(v <= FLT_MAX);
      mx = v > mx ? v : mx;
    }
  }
  const MaxBad r = block_maxbad(mx, bad, red_f, red_i);
  const float s = r.bad ? __int_as_float(0x7fc00000) : __fdiv_rn(r.mx, qmax);
  if (tid == 0) a.sx[m] = s;
  const bool zero = r.bad || s == 0.0f;
  uint8_t* qr = a.qa + m * a.lda;
  for (int64_t c0 = 0; c0 < a.K; c0 += kQuantChunk) {
    const int len = int(a.K - c0 < kQuantChunk ? a.K - c0 : kQuantChunk);
    if (c0 > 0 || a.K > kQuantChunk) build(c0, len);
    if (a.bits == 4) {
      for (int i = 2 * tid; i < len; i += 2 * kQuantThreads) {
        const int q0 = int(zero ? 0.0f : clampq(rintf(__fdiv_rn(buf[i], s)), qmin, qmax));
        const int q1 = int(zero ? 0.0f : clampq(rintf(__fdiv_rn(buf[i + 1], s)), qmin, qmax));
        qr[(c0 + i) >> 1] = static_cast<uint8_t>((q0 & 15) | ((q1 & 15) << 4));
      }
    } else {
      for (int i = tid; i < len; i += kQuantThreads) {
        const float q = zero ? 0.0f : clampq(rintf(__fdiv_rn(buf[i], s)), qmin, qmax);
        qr[act8_pos(c0 + i)] = static_cast<uint8_t>(static_cast<int8_t>(q));
      }
    }
  }
  // Zero padding up to whole stages: the bytes no k < K was written to (8-bit rows are permuted inside
  // each 32-k chunk, so a partial last chunk interleaves values and padding).
  if (a.bits == 4) {
    for (int64_t b = a.K / 2 + tid; b < a.lda; b += kQuantThreads) qr[b] = 0;
  } else {
    for (int64_t b = (a.K & ~int64_t(31)) + tid; b < a.lda; b += kQuantThreads)
      if (act8_k(b) >= a.K) qr[b] = 0;
  }
}

// ---- GEMM arguments --------------------------------------------------------------------------------
struct GemmArgs {
  const uint8_t* qa;  // [M, lda] activations (4- or 8-bit layout)
  int64_t lda;
  const uint8_t* w;  // [N, ldw] packed int4 weights
  int64_t ldw;       // K / 2
  const float* sx;   // [M]
  const float* ws;   // [N, G]
  int64_t G, gs;
  const int8_t* qo;  // [M, nO]
  const float* so;   // [M]
  const int8_t* wo;  // [N, nO]
  const float* wos;  // [N]
  int nO;
  const float* bias;  // [N] or null
  float* out;         // [M, N]
  int64_t M, N, K;
  int tiles_m, tiles_n;
  int kt_per;  // k stages per grid row (blockIdx.y); all of them when not split
  void* part;  // split-K partials [splits, M, N] (float, or int32 when part_ints), else null
  bool part_ints;
};

// out[m, n] from the group-scaled sum: s_x, outlier channels (exact int32), bias.
__device__ __forceinline__ void epilogue(const GemmArgs& p, int64_t m, int64_t n, float facc) {
  if (m >= p.M || n >= p.N) return;
  float y = __fmul_rn(p.sx[m], facc);
  if (p.nO > 0) {
    int32_t acc = 0;  // |acc| <= nO * 128 * 127
    const int8_t* qm = p.qo + m * p.nO;
    const int8_t* wn = p.wo + n * p.nO;
    for (int j = 0; j < p.nO; ++j) acc += int32_t(qm[j]) * int32_t(wn[j]);
    y = __fadd_rn(y, __fmul_rn(__fmul_rn(p.so[m], p.wos[n]), float(acc)));
  }
  if (p.bias) y = __fadd_rn(y, p.bias[n]);
  p.out[m * p.N + n] = y;
}

// ---- mma wrappers ----------------------------------------------------------------------------------
// D(16x8) += A(16x64 s4) B(64x8 s4): one instruction on sm_80+, four m8n8k32 on sm_75 (see the layout header).
__device__ __forceinline__ void mma_s4(int32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k64.row.col.s32.s4.s4.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#elif __CUDA_ARCH__ >= 750
  asm volatile("mma.sync.aligned.m8n8k32.row.col.s32.s4.s4.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[0]), "+r"(d[1])
               : "r"(a[0]), "r"(b[0]));
  asm volatile("mma.sync.aligned.m8n8k32.row.col.s32.s4.s4.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[0]), "+r"(d[1])
               : "r"(a[2]), "r"(b[1]));
  asm volatile("mma.sync.aligned.m8n8k32.row.col.s32.s4.s4.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[2]), "+r"(d[3])
               : "r"(a[1]), "r"(b[0]));
  asm volatile("mma.sync.aligned.m8n8k32.row.col.s32.s4.s4.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[2]), "+r"(d[3])
               : "r"(a[3]), "r"(b[1]));
#endif
}

__device__ __forceinline__ void mma_s8(int32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// 16 bytes global -> shared: cp.async on sm_80+, a plain load / store on sm_75 (then the pipeline is
// synchronous, still correct: every stage is written before the barrier that precedes its reads).
__device__ __forceinline__ void copy16(uint32_t dst, const void* src, bool in) {
#if __CUDA_ARCH__ >= 800
  sm80::cp_async16(dst, src, in);
#else
  uint4 v = in ? *static_cast<const uint4*>(src) : make_uint4(0, 0, 0, 0);
  asm volatile("st.shared.v4.u32 [%0], {%1,%2,%3,%4};\n" ::"r"(dst), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w));
#endif
}

// Tile configs as types.
template <int BM_, int BN_, int WM_, int WN_, int STAGES_>
struct TcCfg {
  static constexpr int kBM = BM_, kBN = BN_, kWarpsM = WM_, kWarpsN = WN_, kStages = STAGES_;
  static constexpr int kThreads = WM_ * WN_ * 32;
  template <int ABITS>
  static constexpr int smem() {
    return (BM_ * kStageBytes4 * ABITS / 4 + BN_ * kStageBytes4) * STAGES_;
  }
};

// ---- the tensor-core kernel ---------------------------------------------------------------------------
// ABITS 4: A is int4 (64 bytes per stage row); I8 selects the int8 route. ABITS 8 (W4A8) always takes
// the int8 route with A's 128-byte stage rows in act8_pos order.
template <class Cfg, int ABITS, bool I8>
__global__ void __launch_bounds__(Cfg::kThreads, 1) w4a4_tc(GemmArgs p) {
#if __CUDA_ARCH__ >= 750
  using namespace cugemm;
  using sm80::ldsm_x4;
  using sm80::smem_u32;
  constexpr int BM = Cfg::kBM, BN = Cfg::kBN, STAGES = Cfg::kStages, THREADS = Cfg::kThreads;
  constexpr int WTM = BM / Cfg::kWarpsM, WTN = BN / Cfg::kWarpsN;
  constexpr int MI = WTM / 16, NI = WTN / 8;
  static_assert(WTM % 16 == 0 && WTN % 16 == 0, "warp tile: 16-row mma blocks and pairs of 8-column blocks");
  static_assert(ABITS == 4 || I8, "8-bit activations take the int8 route");
  constexpr int A_ROWB = kStageBytes4 * ABITS / 4, B_ROWB = kStageBytes4;
  constexpr int A_STAGE = BM * A_ROWB, B_STAGE = BN * B_ROWB;
  static_assert((A_STAGE / 16) % THREADS == 0 && (B_STAGE / 16) % THREADS == 0, "whole copy rounds");
#if __CUDA_ARCH__ < 800
  if constexpr (I8) {
    __trap();  // never launched: the int8 route needs sm_80 (w4a4_cuda.cu's plan)
  } else
#endif
  {
    extern __shared__ __align__(128) uint8_t smem[];
    uint8_t* sA = smem;
    uint8_t* sB = smem + STAGES * A_STAGE;

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const RowCol wo = warp_origin(warp, Cfg::kWarpsM, WTM, WTN);
    const RowCol tile = raster(blockIdx.x, p.tiles_m, p.tiles_n, gemm_cuda_configs::kRasterGroupM);
    const int64_t m0 = int64_t(tile.row) * BM, n0 = int64_t(tile.col) * BN;
    const int kt0 = int(blockIdx.y) * p.kt_per;
    const int k_tiles = min(int(padded_k(p.K) / kStageK), kt0 + p.kt_per);  // this split's end

    constexpr int CA = A_STAGE / 16 / THREADS, CB = B_STAGE / 16 / THREADS;
    const uint8_t* a_src[CA];
    const uint8_t* b_src[CB];
    uint32_t a_dst[CA], b_dst[CB];
    bool a_in[CA];
    int b_k[CB];  // byte offset of the chunk in the stage row; -1: weight row outside the matrix
#pragma unroll
    for (int i = 0; i < CA; ++i) {
      const RowCol rc = copy_chunk(tid + i * THREADS, A_ROWB);
      const int64_t m = m0 + rc.row;
      a_in[i] = m < p.M;  // rows are padded to whole stages: K never runs out inside a row
      a_src[i] = p.qa + (a_in[i] ? m : 0) * p.lda + rc.col;
      a_dst[i] = smem_u32(sA) + smem_offset(rc.row, rc.col, A_ROWB);
    }
#pragma unroll
    for (int i = 0; i < CB; ++i) {
      const RowCol rc = copy_chunk(tid + i * THREADS, B_ROWB);
      const int64_t n = n0 + rc.row;
      b_k[i] = n < p.N ? rc.col : -1;
      b_src[i] = p.w + (n < p.N ? n : 0) * p.ldw + rc.col;
      b_dst[i] = smem_u32(sB) + smem_offset(rc.row, rc.col, B_ROWB);
    }
    auto load_stage = [&](int stage, int kt) {
#pragma unroll
      for (int i = 0; i < CA; ++i) copy16(a_dst[i] + stage * A_STAGE, a_src[i] + int64_t(kt) * A_ROWB, a_in[i]);
#pragma unroll
      for (int i = 0; i < CB; ++i) {
        const int64_t off = int64_t(kt) * B_ROWB + b_k[i];
        const bool in = b_k[i] >= 0 && off < p.ldw;  // the weight row ends at K / 2 (a multiple of 32 bytes)
        copy16(b_dst[i] + stage * B_STAGE, in ? b_src[i] + int64_t(kt) * B_ROWB : p.w, in);
      }
    };

    int32_t iacc[MI][NI][4];
    float facc[MI][NI][4];
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
      for (int j = 0; j < NI; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) iacc[i][j][e] = 0, facc[i][j][e] = 0.0f;

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
      if (kt0 + s < k_tiles) load_stage(s, kt0 + s);
      sm80::cp_async_commit();
    }

    for (int kt = kt0; kt < k_tiles; ++kt) {
      const int it = kt - kt0;
      sm80::cp_async_wait<STAGES - 2>();
      __syncthreads();
      if (kt + STAGES - 1 < k_tiles) load_stage((it + STAGES - 1) % STAGES, kt + STAGES - 1);
      sm80::cp_async_commit();

      const uint8_t* a_t = sA + (it % STAGES) * A_STAGE;
      const uint8_t* b_t = sB + (it % STAGES) * B_STAGE;
#pragma unroll
      for (int ks = 0; ks < kStageK / kStepK; ++ks) {
        uint32_t bf[NI][2];
#pragma unroll
        for (int ni = 0; ni < NI; ni += 2) {
          const RowCol l = ldsm_b_kmajor(lane);
          uint32_t r[4];
          ldsm_x4(smem_u32(b_t + smem_offset(wo.col + ni * 8 + l.row, ks * 32 + l.col, B_ROWB)), r);
          bf[ni][0] = r[0], bf[ni][1] = r[1], bf[ni + 1][0] = r[2], bf[ni + 1][1] = r[3];
        }
        const RowCol la = ldsm_a_kmajor(lane);
        if constexpr (!I8) {
#pragma unroll
          for (int mi = 0; mi < MI; ++mi) {
            uint32_t af[4];
            ldsm_x4(smem_u32(a_t + smem_offset(wo.row + mi * 16 + la.row, ks * 32 + la.col, A_ROWB)), af);
#pragma unroll
            for (int ni = 0; ni < NI; ++ni) mma_s4(iacc[mi][ni], af, bf[ni]);
          }
        } else {
          uint32_t bu[NI][2][2];  // [ni][half of the step][register]
#pragma unroll
          for (int ni = 0; ni < NI; ++ni)
#pragma unroll
            for (int h = 0; h < 2; ++h) bu[ni][h][0] = nib_bytes(bf[ni][h], false), bu[ni][h][1] = nib_bytes(bf[ni][h], true);
#pragma unroll
          for (int mi = 0; mi < MI; ++mi) {
            uint32_t au[2][4];  // [half][s8 register]
            if constexpr (ABITS == 4) {
              uint32_t af[4];
              ldsm_x4(smem_u32(a_t + smem_offset(wo.row + mi * 16 + la.row, ks * 32 + la.col, A_ROWB)), af);
#pragma unroll
              for (int h = 0; h < 2; ++h) {
                au[h][0] = nib_bytes(af[2 * h], false), au[h][1] = nib_bytes(af[2 * h + 1], false);
                au[h][2] = nib_bytes(af[2 * h], true), au[h][3] = nib_bytes(af[2 * h + 1], true);
              }
            } else {
#pragma unroll
              for (int h = 0; h < 2; ++h)
                ldsm_x4(smem_u32(a_t + smem_offset(wo.row + mi * 16 + la.row, ks * 64 + h * 32 + la.col, A_ROWB)), au[h]);
            }
#pragma unroll
            for (int ni = 0; ni < NI; ++ni) {
              mma_s8(iacc[mi][ni], au[0], bu[ni][0]);
              mma_s8(iacc[mi][ni], au[1], bu[ni][1]);
            }
          }
        }
        const int64_t step = int64_t(kt) * (kStageK / kStepK) + ks;
        if (!p.part_ints && flush_after_step(step, p.K, p.gs)) {  // the group's integer sums are complete: scale and fold
          const int64_t g = step / (p.gs / kStepK);
#pragma unroll
          for (int ni = 0; ni < NI; ++ni)
#pragma unroll
            for (int c = 0; c < 2; ++c) {
              const int64_t n = n0 + wo.col + ni * 8 + 2 * (lane & 3) + c;
              const float sc = n < p.N ? p.ws[n * p.G + g] : 0.0f;
#pragma unroll
              for (int mi = 0; mi < MI; ++mi)
#pragma unroll
                for (int e = c; e < 4; e += 2) {
                  facc[mi][ni][e] = __fmaf_rn(sc, float(iacc[mi][ni][e]), facc[mi][ni][e]);
                  iacc[mi][ni][e] = 0;
                }
            }
        }
      }
    }
    sm80::cp_async_wait<0>();

#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
      for (int ni = 0; ni < NI; ++ni)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const RowCol c = frag_c(lane, e);
          const int64_t m = m0 + wo.row + mi * 16 + c.row, n = n0 + wo.col + ni * 8 + c.col;
          if (!p.part) {
            epilogue(p, m, n, facc[mi][ni][e]);
          } else if (m < p.M && n < p.N) {  // split-K: this split's partial
            const int64_t o = (int64_t(blockIdx.y) * p.M + m) * p.N + n;
            if (p.part_ints)
              static_cast<int32_t*>(p.part)[o] = iacc[mi][ni][e];
            else
              static_cast<float*>(p.part)[o] = facc[mi][ni][e];
          }
        }
  }
#endif
}

// Split-K: the splits' partials added in split order, then the epilogue (per channel: the int32 sum
// scaled once, as the unsplit kernel's flush does).
__global__ void __launch_bounds__(256) w4a4_split_reduce(GemmArgs p, int splits) {
  const int64_t MN = p.M * p.N;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < MN; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t m = i / p.N, n = i % p.N;
    float facc;
    if (p.part_ints) {
      const int32_t* q = static_cast<const int32_t*>(p.part);
      int32_t s = q[i];
      for (int j = 1; j < splits; ++j) s += q[j * MN + i];
      facc = __fmaf_rn(p.ws[n * p.G], float(s), 0.0f);
    } else {
      const float* q = static_cast<const float*>(p.part);
      facc = q[i];
      for (int j = 1; j < splits; ++j) facc = __fadd_rn(facc, q[j * MN + i]);
    }
    epilogue(p, m, n, facc);
  }
}

// ---- exact SIMT fallback -------------------------------------------------------------------------------
// One warp per output element: lanes split each group's weight bytes, the group's int32 sum is
// reduced exactly (xor shuffles), lane 0 folds it with the group's scale. Any even group size and K,
// both activation widths, every arch.
__global__ void __launch_bounds__(256) w4a4_simt(GemmArgs p, int bits) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = int64_t(gridDim.x) * (blockDim.x >> 5);
  for (int64_t o = blockIdx.x * int64_t(blockDim.x >> 5) + (threadIdx.x >> 5); o < p.M * p.N; o += warps) {
    const int64_t m = o / p.N, n = o % p.N;
    const uint8_t* wr = p.w + n * p.ldw;
    const uint8_t* xr = p.qa + m * p.lda;
    float facc = 0.0f;
    for (int64_t g = 0; g < p.G; ++g) {
      int32_t acc = 0;
      for (int64_t j = g * p.gs / 2 + lane; j < (g + 1) * p.gs / 2; j += 32) {
        const int32_t b = wr[j];
        const int32_t w0 = ((b & 15) ^ 8) - 8, w1 = ((b >> 4) ^ 8) - 8;
        int32_t x0, x1;
        if (bits == 4) {
          const int32_t xb = xr[j];
          x0 = ((xb & 15) ^ 8) - 8, x1 = ((xb >> 4) ^ 8) - 8;
        } else {
          x0 = static_cast<int8_t>(xr[act8_pos(2 * j)]), x1 = static_cast<int8_t>(xr[act8_pos(2 * j + 1)]);
        }
        acc += w0 * x0 + w1 * x1;
      }
      for (int s = 16; s > 0; s >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, s);
      facc = __fmaf_rn(p.ws[n * p.G + g], float(acc), facc);
    }
    if (lane == 0) epilogue(p, m, n, facc);
  }
}

// ---- weight-only (int4Matmul) ----------------------------------------------------------------------------
struct WeightOnlyArgs {
  const float* x;     // [M, K]
  const uint8_t* w;   // [N, K/2]
  const float* ws;    // [N, G]
  const int8_t* zp;   // [N, G] or null
  const float* bias;  // [N] or null
  float* out;         // [M, N]
  int64_t M, N, K, G, gs;
};

// One warp per weight row and a run of up to 8 activation rows: each weight is dequantized once per
// run ((q - z) * s in fp32, as the CPU) and multiplied into every row of the run; fp32 FMA.
constexpr int kWoRows = 8;
__global__ void __launch_bounds__(256) weight_only(WeightOnlyArgs p) {
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
      if (lane == 0 && r < rows) p.out[(m0 + r) * p.N + n] = p.bias ? __fadd_rn(v, p.bias[n]) : v;
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
  const float* x;     // [M, K]
  const uint8_t* w;   // [N, K/2]
  const float* ws;    // [N, G]
  const int8_t* zp;   // [N, G] or null
  const float* bias;  // [N] or null
  float* out;         // [M, N]
  float* part;        // [splits, M, N] when split along K, else null
  int64_t M, N, K, G, gs;
  int chunks, cps;  // chunks of K, chunks per split
};
constexpr int kWoWarps = 4, kWoNI = 4;  // 4 warps; 32 weight columns (4 mma n-blocks) per CTA

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
      p.out[m * p.N + n] = p.bias ? __fadd_rn(v, p.bias[n]) : v;
    }
  }
#endif
}

// out = the k splits' partials added in split order (+ bias).
__global__ void weight_only_reduce(const float* part, int splits, const float* bias, float* out, int64_t M, int64_t N) {
  const int64_t MN = M * N;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < MN; i += int64_t(gridDim.x) * blockDim.x) {
    float v = part[i];
    for (int s = 1; s < splits; ++s) v = __fadd_rn(v, part[s * MN + i]);
    out[i] = bias ? __fadd_rn(v, bias[i % N]) : v;
  }
}

// out = bias (or 0) when K == 0.
__global__ void fill_bias(float* out, const float* bias, int64_t M, int64_t N) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < M * N; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = bias ? bias[i % N] : 0.0f;
}

}  // namespace tk::cuw4a4
