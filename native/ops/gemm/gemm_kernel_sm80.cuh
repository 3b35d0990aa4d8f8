// sm_80 / sm_86 / sm_89 (and sm_90 when forced): mma.sync tensor-core GEMM.
//   fp16 / bf16: mma.m16n8k16, fp32 accumulate;  float32 with tf32 allowed: mma.m16n8k8.tf32 (inputs
//   rounded to tf32 with cvt.rna);  int8: mma.m16n8k32.s8 with exact int32 accumulation.
// Each stage holds 64 bytes of K (two mma steps of 32 bytes) of a BM-row A tile and a BN-column B
// tile, copied with 16-byte cp.async into XOR-swizzled shared memory, STAGES deep. Fragments come
// from shared memory with ldmatrix (ldmatrix.trans for 16-bit operands stored m/n-major; 4-byte
// scalar loads for 32-bit / 8-bit operands stored m/n-major, which ldmatrix cannot transpose).
// Index math: gemm_cuda_layout.h (checked on the host by the native self-test).
//
// Preconditions (gemm_cuda.cu checks them and otherwise runs gemm_simt): 16-byte aligned base
// pointers and a contiguous dimension that is a multiple of 16 bytes, so that every 16-byte chunk of
// a tile is entirely inside or entirely outside the matrix (outside chunks are zero-filled).
#pragma once
#include <type_traits>

#include "../../cuda/sm80.cuh"
#include "gemm_kernel_common.cuh"

namespace tk::cugemm {

// 4 bytes of an m/n-major tile that ldmatrix cannot transpose (32-bit or 8-bit elements): the
// register's elements are consecutive in k, i.e. in consecutive smem rows.
template <int EB, int ROWB>
__device__ __forceinline__ uint32_t gather_mn(const uint8_t* tile, int k_elem, int mn_elem) {
  if constexpr (EB == 4) {
    return *reinterpret_cast<const uint32_t*>(tile + smem_offset(k_elem, mn_elem * 4, ROWB));
  } else {
    uint32_t v = 0;
#pragma unroll
    for (int e = 0; e < 4; ++e) v |= uint32_t(tile[smem_offset(k_elem + e, mn_elem, ROWB)]) << (8 * e);
    return v;
  }
}

template <class Cfg, class T, bool A_K, bool B_K>
__global__ void __launch_bounds__(Cfg::kThreads, Cfg::kMinBlocks) gemm_sm80(DevArgs p) {
#if __CUDA_ARCH__ >= 800
  using namespace sm80;
  using Acc = typename Elem<T>::Acc;
  constexpr int EB = Elem<T>::bytes;
  constexpr int BM = Cfg::kBM, BN = Cfg::kBN, STAGES = Cfg::kStages, THREADS = Cfg::kThreads;
  constexpr int BK = 64 / EB;  // elements of K per stage (64 bytes)
  constexpr int WTM = BM / Cfg::kWarpsM, WTN = BN / Cfg::kWarpsN;
  constexpr int MI = WTM / 16, NI = WTN / 8;
  static_assert(WTM % 16 == 0 && WTN % 16 == 0, "warp tile: 16-row mma blocks and pairs of 8-column blocks");
  constexpr int A_ROWB = A_K ? 64 : BM * EB;  // (BM, 64 B) k-major or (BK, BM) m-major
  constexpr int B_ROWB = B_K ? 64 : BN * EB;  // (BN, 64 B) k-major or (BK, BN) n-major
  static_assert((A_ROWB & (A_ROWB - 1)) == 0 && A_ROWB >= 32 && (B_ROWB & (B_ROWB - 1)) == 0 && B_ROWB >= 32,
                "swizzled rows are a power of two of at least 32 bytes");
  constexpr int A_STAGE = BM * 64, B_STAGE = BN * 64;  // bytes per stage
  static_assert((A_STAGE / 16) % THREADS == 0 && (B_STAGE / 16) % THREADS == 0, "whole copy rounds");

  extern __shared__ __align__(128) uint8_t smem[];
  uint8_t* sA = smem;
  uint8_t* sB = smem + STAGES * A_STAGE;

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const RowCol wo = warp_origin(warp, Cfg::kWarpsM, WTM, WTN);
  const RowCol tile = raster(blockIdx.x, p.tiles_m, p.tiles_n, gemm_cuda_configs::kRasterGroupM);
  const int64_t m0 = int64_t(tile.row) * BM, n0 = int64_t(tile.col) * BN;
  const int slice = blockIdx.y;
  const int64_t k_begin = slice * p.k_chunk;
  const int64_t k_end = k_begin + p.k_chunk < p.K ? k_begin + p.k_chunk : p.K;
  const int k_tiles = int((k_end - k_begin + BK - 1) / BK);

  for (int b = blockIdx.z; b < p.batch; b += gridDim.z) {
    const uint8_t* A = static_cast<const uint8_t*>(p.a) + b * p.stride_a * EB;
    const uint8_t* B = static_cast<const uint8_t*>(p.b) + b * p.stride_b * EB;

    // Global -> shared, one stage: 16-byte chunks, zero-filled outside the matrix or the K slice.
    // Each thread's chunks keep their tile position across stages: only k0 moves, so the source
    // pointer, the row/column check and the swizzled destination are computed once here.
    constexpr int CA = A_STAGE / 16 / THREADS, CB = B_STAGE / 16 / THREADS;
    const uint8_t* a_src[CA];
    const uint8_t* b_src[CB];
    uint32_t a_dst[CA], b_dst[CB];
    int a_k[CA], b_k[CB];  // K offset of the chunk inside the stage; -1: row/column outside the matrix
#pragma unroll
    for (int i = 0; i < CA; ++i) {
      const RowCol rc = copy_chunk(tid + i * THREADS, A_ROWB);
      const int64_t m = A_K ? m0 + rc.row : m0 + rc.col / EB;
      a_k[i] = m < p.M ? (A_K ? rc.col / EB : rc.row) : -1;
      a_src[i] = A + (A_K ? m * p.lda + k_begin + rc.col / EB : (k_begin + rc.row) * p.lda + m) * EB;
      a_dst[i] = smem_u32(sA) + smem_offset(rc.row, rc.col, A_ROWB);
    }
#pragma unroll
    for (int i = 0; i < CB; ++i) {
      const RowCol rc = copy_chunk(tid + i * THREADS, B_ROWB);
      const int64_t n = B_K ? n0 + rc.row : n0 + rc.col / EB;
      b_k[i] = n < p.N ? (B_K ? rc.col / EB : rc.row) : -1;
      b_src[i] = B + (B_K ? n * p.ldb + k_begin + rc.col / EB : (k_begin + rc.row) * p.ldb + n) * EB;
      b_dst[i] = smem_u32(sB) + smem_offset(rc.row, rc.col, B_ROWB);
    }
    const int64_t a_step = A_K ? int64_t(BK) * EB : int64_t(BK) * p.lda * EB;  // bytes per stage of K
    const int64_t b_step = B_K ? int64_t(BK) * EB : int64_t(BK) * p.ldb * EB;
    const int64_t k_len = k_end - k_begin;
    auto load_stage = [&](int stage, int kt) {
      const int64_t k0 = int64_t(kt) * BK;
#pragma unroll
      for (int i = 0; i < CA; ++i) {
        const bool in = a_k[i] >= 0 && k0 + a_k[i] < k_len;
        cp_async16(a_dst[i] + stage * A_STAGE, in ? a_src[i] + kt * a_step : A, in);
      }
#pragma unroll
      for (int i = 0; i < CB; ++i) {
        const bool in = b_k[i] >= 0 && k0 + b_k[i] < k_len;
        cp_async16(b_dst[i] + stage * B_STAGE, in ? b_src[i] + kt * b_step : B, in);
      }
    };

    Acc acc[MI][NI][4];
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
      for (int j = 0; j < NI; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[i][j][e] = Acc(0);

#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
      if (s < k_tiles) load_stage(s, s);
      cp_async_commit();  // empty groups keep the wait_group count uniform
    }

    for (int kt = 0; kt < k_tiles; ++kt) {
      cp_async_wait<STAGES - 2>();
      __syncthreads();  // stage kt landed for every thread; stage kt-1 is no longer read by anyone
      if (kt + STAGES - 1 < k_tiles) load_stage((kt + STAGES - 1) % STAGES, kt + STAGES - 1);
      cp_async_commit();

      const uint8_t* a_t = sA + (kt % STAGES) * A_STAGE;
      const uint8_t* b_t = sB + (kt % STAGES) * B_STAGE;
#pragma unroll
      for (int ks = 0; ks < 2; ++ks) {  // two 32-byte mma steps per stage
        uint32_t af[MI][4], bf[NI][2];
#pragma unroll
        for (int mi = 0; mi < MI; ++mi) {
          const int mb = wo.row + mi * 16;  // (16, 32 B) block of A
          if constexpr (A_K) {
            const RowCol l = ldsm_a_kmajor(lane);
            ldsm_x4(smem_u32(a_t + smem_offset(mb + l.row, ks * 32 + l.col, A_ROWB)), af[mi]);
          } else if constexpr (EB == 2) {
            const RowCol l = ldsm_a_mnmajor(lane);
            ldsm_x4_trans(smem_u32(a_t + smem_offset(ks * 16 + l.row, (mb + l.col) * 2, A_ROWB)), af[mi]);
          } else {
#pragma unroll
            for (int r = 0; r < 4; ++r) {
              const RowCol f = frag_a(lane, r);
              af[mi][r] = gather_mn<EB, A_ROWB>(a_t, (ks * 32 + f.col) / EB, mb + f.row);
            }
          }
#pragma unroll
          for (int r = 0; r < 4; ++r) af[mi][r] = prep<T>(af[mi][r]);
        }
#pragma unroll
        for (int ni = 0; ni < NI; ni += 2) {
          const int nb = wo.col + ni * 8;  // two (8, 32 B) blocks of B
          if constexpr (B_K) {
            const RowCol l = ldsm_b_kmajor(lane);
            uint32_t r[4];
            ldsm_x4(smem_u32(b_t + smem_offset(nb + l.row, ks * 32 + l.col, B_ROWB)), r);
            bf[ni][0] = r[0], bf[ni][1] = r[1], bf[ni + 1][0] = r[2], bf[ni + 1][1] = r[3];
          } else if constexpr (EB == 2) {
            const RowCol l = ldsm_b_mnmajor(lane);
            uint32_t r[4];
            ldsm_x4_trans(smem_u32(b_t + smem_offset(ks * 16 + l.row, (nb + l.col) * 2, B_ROWB)), r);
            bf[ni][0] = r[0], bf[ni][1] = r[1], bf[ni + 1][0] = r[2], bf[ni + 1][1] = r[3];
          } else {
#pragma unroll
            for (int h = 0; h < 2; ++h)
#pragma unroll
              for (int r = 0; r < 2; ++r) {
                const RowCol f = frag_b(lane, r);
                bf[ni + h][r] = gather_mn<EB, B_ROWB>(b_t, (ks * 32 + f.col) / EB, nb + h * 8 + f.row);
              }
          }
#pragma unroll
          for (int h = 0; h < 2; ++h)
#pragma unroll
            for (int r = 0; r < 2; ++r) bf[ni + h][r] = prep<T>(bf[ni + h][r]);
        }
#pragma unroll
        for (int mi = 0; mi < MI; ++mi)
#pragma unroll
          for (int ni = 0; ni < NI; ++ni) mma(acc[mi][ni], af[mi], bf[ni], T());
      }
    }
    cp_async_wait<0>();
    __syncthreads();  // the next batch entry reuses the stages

#pragma unroll
    for (int mi = 0; mi < MI; ++mi)
#pragma unroll
      for (int ni = 0; ni < NI; ++ni)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const RowCol c = frag_c(lane, e);
          finish(p, b, slice, m0 + wo.row + mi * 16 + c.row, n0 + wo.col + ni * 8 + c.col, acc[mi][ni][e]);
        }
  }
#endif
}

// Tile configs as types (template parameters are set in gemm_cuda.cu only).
template <const gemm_cuda_configs::TileConfig& C>
struct Sm80Cfg {
  static constexpr int kBM = C.bm, kBN = C.bn, kWarpsM = C.warps_m, kWarpsN = C.warps_n, kStages = C.stages;
  static constexpr int kThreads = C.warps_m * C.warps_n * 32;
  static constexpr int kMinBlocks = C.min_blocks;
  static constexpr int kSmem = C.smem_bytes();
};

}  // namespace tk::cugemm
