// w4a4_tc: the W4A4 / W4A8 tensor-core GEMM, and its split-K reduction (see w4a4_kernel_common.cuh).
#pragma once
#include <cfloat>
#include <cstdint>

#include "w4a4_kernel_common.cuh"

namespace tk::cuw4a4 {

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
__global__ void __launch_bounds__(kGridThreads) w4a4_split_reduce(GemmArgs p, int splits) {
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

}  // namespace tk::cuw4a4
