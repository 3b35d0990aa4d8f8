// Launch shapes of the CUDA W4A4 kernels, as data with their reasons: w4a4_cuda.cu's plan picks from
// these and the kernels take them as template arguments; the index math built on them (and checked by
// the self-test) is w4a4_cuda_layout.h. SM count and shared memory per block come from the device
// (tk::cuda::probe()) at run time, never from here. Configs as data with their reasons:
// docs/design.md, Architecture (kernels are data-driven).
#pragma once
#include <cstdint>

namespace tk::w4a4_cuda_configs {

// ---- tensor-core GEMM (w4a4_tc) ---------------------------------------------------------------------
// A stage holds kStageK k of every operand row: 64 bytes of int4 (the GEMM's 64-byte stages, so the
// same copy pattern and swizzle; K per stage doubled by the 4-bit operands) or 128 bytes of W4A8's
// int8 activations. Activation rows are padded with zeros to whole stages.
constexpr int kStageBytes4 = 64;  // bytes of K per stage row for int4 operands
constexpr int kStageK = 128;      // k per stage (both activation widths)

struct TcConfig {
  int bm, bn, warps_m, warps_n, stages;
  const char* name;  // in the recorded kernel name
  constexpr int threads() const { return warps_m * warps_n * 32; }
  // abits 4: int4 x int4; 8: W4A8 (128-byte activation rows).
  constexpr int smem_bytes(int abits) const { return (bm * kStageBytes4 * abits / 4 + bn * kStageBytes4) * stages; }
};
// Large: 128x128 CTA, 8 warps of 64x32 (4x4 mma tiles: 64 int32 partials + 64 fp32 group sums per
// thread), 4 stages of 128 k = 64 KB (int4 x int4) / 96 KB (W4A8). The GEMM's large tile.
constexpr TcConfig kTcLarge = {128, 128, 2, 4, 4, "128x128x128k_4st"};
// Small: 64x64, 4 warps of 32x32, 4 stages = 32 KB / 48 KB: M <= 64 (decode) and grids smaller than
// the SM count (twice the CTAs of Large on 64 rows); split-K (below) fills the rest of the SMs.
constexpr TcConfig kTcSmall = {64, 64, 2, 2, 4, "64x64x128k_4st"};

// Split-K of the Small tiles (tc_split_plan, w4a4_cuda_layout.h): when even those tiles leave at
// least half of the SMs idle (tiles <= SMs / kTcSplitFillDivisor), the k stages are split across the
// grid's y dimension for about kTcSplitCtasPerSm CTAs per SM, each split at least kTcSplitMinStages
// stages (the copy pipeline) and at most kTcSplitMax splits (w4a4_split_reduce adds them in order).
constexpr int kTcSplitFillDivisor = 2;
constexpr int kTcSplitCtasPerSm = 2;
constexpr int kTcSplitMinStages = 2;
constexpr int kTcSplitMax = 32;

// ---- the fused activation quantizer (quantize_rows) ------------------------------------------------
constexpr int kQuantThreads = 256;  // one CTA per row: 8 warps share the row's max reduction
constexpr int kQuantChunk = 2048;   // floats of a row staged in shared memory at a time (a multiple of every rotation block)

// ---- weight-only (int4Matmul) -----------------------------------------------------------------------
// SIMT (weight_only): one warp per weight row and a run of up to kWoRows activation rows, each weight
// dequantized once per run and multiplied into every row of the run.
constexpr int kWoRows = 8;
// Tensor cores (weight_only_tc): a CTA = kWoWarps warps on one block of 8 * kWoNI weight columns (kWoNI
// mma n-blocks) and 16 * wo_row_blocks(M) activation rows; the warps take consecutive runs of the
// CTA's k chunks, summed in shared memory in warp order.
constexpr int kWoWarps = 4;
constexpr int kWoNI = 4;
// 16-row tiles up to 16 rows (decode: a 32-row tile would be half padding), 32-row tiles above.
constexpr int wo_row_blocks(int64_t M) { return M <= 16 ? 1 : 2; }
// Split-K (wo_splits, w4a4_cuda_layout.h) when there are few column blocks: about kWoSplitCtasPerSm
// CTAs (16 warps) per SM, each split at least kWoSplitMinChunks chunks (one per warp), at most
// kWoSplitMax splits (weight_only_reduce adds them in order).
constexpr int kWoSplitCtasPerSm = 4;
constexpr int kWoSplitMinChunks = kWoWarps;
constexpr int kWoSplitMax = 64;

// ---- grid-stride kernels (w4a4_simt, w4a4_split_reduce, weight_only, weight_only_reduce, fill_bias) --
// 256-thread blocks (8 warps: the warp-per-output kernels take 8 outputs per block), at most 32
// blocks per SM: enough to fill the GPU, the rest by striding.
constexpr int kGridThreads = 256;
constexpr int kGridBlocksPerSm = 32;

}  // namespace tk::w4a4_cuda_configs

namespace tk::w4a4_configs {

// The CPU's gemm route (w4a4_cpu.cc): from this many activation rows up, calls run on gemm's int8
// kernels (w4a4_cpu_gemm.cc) instead of the W4A4 tile kernels. Per channel, Zen 5, 2 threads,
// N = K = 4096, tile kernels / gemm route time (both forced in one process, /tmp script): M = 32
// 0.76x, 48 0.94x, 64 1.15x, 128 1.28x, 4096 2.2x; N = K = 1024: M = 128 1.74x. In groups of 128
// (gemm's grouped kernels, AVX-512 VNNI), Emerald Rapids, the same way (/tmp/abg.js, median of 6
// alternating rounds): M = 32 0.89x, 64 1.31x, 128 1.79x, 4096 2.90x; M = 1024 in groups of 32 / 64 /
// 256: 3.75x / 2.66x / 2.09x. Below 64 rows widening the 4-bit weights to int8 every call costs more
// than the faster int8 kernels win.
constexpr int64_t kGemmRouteMinRows = 64;

// int4Matmul (weight-only): up to this many activation rows the fused decode rows (each weight row
// dequantized once in registers / L1 and dotted with every row), above it gemm's float kernels with
// the weights dequantized as they are packed. Emerald Rapids, 2 threads, N = K = 4096, fused / gemm
// time (both forced in one process, median of 7 alternating rounds): groups of 128, M = 4 0.53x,
// 8 1.04x, 12 1.52x, 16 1.20x; groups of 32, M = 4 0.42x, 8 0.97x.
constexpr int64_t kWeightOnlyFusedMaxRows = 8;

}  // namespace tk::w4a4_configs
