// Cache blocking per ISA, each with its reason. MR x NR is the register tile; KC x NR floats of B
// stay in L1 while the MC x KC block of A streams from L2; KC x NC of B lives in L2/L3.
#pragma once

namespace tk::gemm_kernels {

struct BlockConfig {
  int mr, nr, kc, mc, nc;
  // Up to small_m rows of A (0: mc) the driver takes the small-M loop (B packed panel by panel just
  // before use, K in blocks of small_kc; 0: kc) -- few rows reuse a packed B block too little to
  // justify keeping a large one.
  int small_m = 0, small_kc = 0;
};

// scalar: 4x8 portable tile; the compiler vectorizes it with the baseline SIMD (SSE2 / NEON).
constexpr BlockConfig kScalarF32 = {4, 8, 256, 128, 2048};
// avx2: 6x16 = 12 ymm accumulators + 2 B + 1 broadcast of 16 registers; two FMA ports with 4-5
// cycle latency need >= 10 independent chains. KC 384: a 24 KB B micro-panel in a 32 KB L1, and
// fewer passes over C. MC 96: a 144 KB A block in a 512 KB (Zen 3) to 1.25 MB L2. NC 2048: 3 MB of
// packed B in L3. Swept on Zen 3, 2 threads, 1024-4096 cubed (KC,MC in 256,144 / 384,96 / 512,72 /
// 384,120): 384,96 was at or near the best at every size, 0.99-1.04x oneDNN.
constexpr BlockConfig kAvx2F32 = {6, 16, 384, 96, 2048};
// avx512: 12x32 = 24 zmm accumulators + 2 B + 1 broadcast of 32. KC 192: a 24 KB B micro-panel
// in a 32-48 KB L1; MC 240: a 180 KB A block in a 1-2 MB L2.
constexpr BlockConfig kAvx512F32 = {12, 32, 192, 240, 3072};
// avx512 on cores with two full-width 512-bit FMA pipes and 1 MB of L2 per core (AMD Zen 5, CPUID
// family 0x1A; chosen by gemm_cpu.cc). The same 12x32 kernel at a much larger KC: a K block that short
// made C the traffic -- 2048^3 walked all of C (16 MB, from L3 / DRAM) eleven times at KC 192, and
// the epilogue's loads stalled. At KC 1024 B's panels (128 KB) and A's (48 KB) stream from L2, which
// this core feeds at full rate with the C tile prefetched (ukr_f32). Swept here (2 threads, 2048^3 /
// 4096^3 / 2048^3 B [N, K], GFLOP/s, best of KC 192..1024, MC 48..240, NC 512..3072): KC 192 MC 240
// 307 / 290 / 289; KC 512 MC 96 347 / 357 / 341; KC 1024 MC 48 NC 2048 396 / 397 / 394 (peak 435).
// Small M keeps KC 192 with per-panel B: M = 128 / 240 (N = K = 4096) 262 / 307 vs 215 / 264 at KC
// 1024; M = 256 ties; M = 512 276 vs 321.
constexpr BlockConfig kAvx512F32Wide = {12, 32, 1024, 48, 2048, 240, 192};
// avx512 8x32 (IsaKernels::f32_mr8, monarch only): 16 zmm accumulators + 2 B + 1 broadcast; the
// cache blocks are f32's (kAvx512F32 / kAvx512F32Wide), with MR swapped.
constexpr int kAvx512F32Mr8 = 8;
// neon: 8x12 = 24 q accumulators + 3 B + 2 A of 32 (lane-indexed FMA needs A in registers).
constexpr BlockConfig kNeonF32 = {8, 12, 256, 128, 2048};

// int8 (exact int32 accumulation). avx2: madd_epi16 on sign-extended pairs, same 6x16 tile.
constexpr BlockConfig kAvx2I8 = {6, 16, 256, 144, 2048};
// avx512 VNNI: dpbusd on groups of 4 (A as unsigned a+128, corrected by 128 * column sums of B).
constexpr BlockConfig kAvx512I8 = {
    12, 32, 512, 240,
    3072};  // KC 512: 16 KB B + 6 KB A micro-panels in L1; half the C passes of 256 (2048^3: 262 vs ~170 GOP/s on one thread)
constexpr BlockConfig kScalarI8 = {4, 8, 256, 128, 2048};
// bf16 with AVX512_BF16: dpbf16ps on pairs of K, 12x32 tile; KC 256 pairs-aligned, 16 KB bf16 panel.
constexpr BlockConfig kAvx512Bf16 = {12, 32, 256, 240, 3072};
// The same on full-width cores (see kAvx512F32Wide): one vpdpbusd / vdpbf16ps covers 4 / 2 steps of
// K, so C passes cost 4x / 2x more per flop and K blocks are longer still. int8 swept (2 threads,
// 2048^3 / 4096^3 GOP/s): KC 512 MC 240 1050 / 1087; KC 1024 MC 96 1242 / 1283; KC 2048 MC 48 1414 /
// 1456; KC 4096 MC 24 1548 / 1601 (peak 1725). bf16 (GFLOP/s): KC 256 MC 240 545 / 546; KC 1024 MC 48
// 711 / 726; KC 2048 MC 48 733 / 743 (peak 865). Small M as before: int8 M = 64 / 240, 541 / 1194 at
// KC 512 vs 491 / 1093; bf16 431 / 652 at KC 256 vs 353 / 542; M = 512 favours the long blocks.
constexpr BlockConfig kAvx512I8Wide = {12, 32, 4096, 24, 2048, 240, 512};
// int8 on Intel Xeon cores with 2 MB of L2 (Sapphire / Emerald Rapids, CPUID family 6 model 0x8F /
// 0xCF; the "xeon" blocks, float32 and bfloat16 keep the split configs). Longer K blocks than split's
// 512 for the same reason as on Zen 5, but MC 48 and the small-M rule up to 512 rows: Zen 5's KC 4096
// MC 24 lost below 1024 rows there. Measured on Emerald Rapids (2 threads, N = K = 4096, B [N, K],
// every config in one process, median of 8 alternating rounds, speed vs split): M = 256 1.04x,
// 512 1.08x, 1024 1.09x, 2048 1.16x, 4096 1.13x (B [K, N]: M = 512 1.10x, 2048 1.11x); Zen 5's
// wide config 0.88x / 0.94x / 1.00x / 1.13x / 1.13x. Sapphire Rapids is assumed alike, unmeasured.
constexpr BlockConfig kAvx512I8Xeon = {12, 32, 2048, 48, 2048, 512, 512};
constexpr BlockConfig kAvx512Bf16Wide = {12, 32, 2048, 48, 2048, 240, 256};

// Skinny (decode) path: at most this many rows of A take the unpacked streaming kernels; packing B
// costs extra passes over the weights that only pay off with enough rows to reuse them. Crossovers
// measured on N = K = 4096 (AVX2, 2 threads, GFLOP/s skinny vs blocked): B stored [K, N]: M = 32
// 99 vs 77, M = 48 103 vs 99, M = 64 104 vs 111; B stored [N, K] (packed with 8x8 transposes):
// M = 16 78 vs 76, M = 24 83 vs 96.
constexpr int kSkinnyMaxMNN = 48;
constexpr int kSkinnyMaxMNT = 16;
// int8: rows of A up to which the unpacked int8 kernels beat packing B (kSkinnyI8MaxM; measured below).
constexpr int kSkinnyI8MaxM = 16;

}  // namespace tk::gemm_kernels

// ---- CUDA tile configs (native/ops/gemm/gemm_cuda.cu picks one per call) --------------------------
// Each is data with its reason; SM count and shared memory per block come from the device
// (tk::cuda::probe()) at run time, never from here. Every sm80-family stage holds 64 bytes of K:
// 32 fp16/bf16, 16 tf32 or 64 int8 elements = two mma.sync steps of 32 bytes each.
namespace tk::gemm_cuda_configs {

struct TileConfig {
  int bm, bn, warps_m, warps_n, stages;
  int min_blocks;  // __launch_bounds__ CTAs per SM: caps registers at 65536 / (threads * min_blocks)
  const char* name;
  constexpr int threads() const { return warps_m * warps_n * 32; }
  constexpr int smem_bytes() const { return (bm + bn) * 64 * stages; }
};

// sm80/86/89, large tiles: 8 warps of 64x32 (4x4 mma tiles, 64 fp32 accumulators per thread), 4
// stages of 16 KB = 64 KB -- 4 stages hide the ~500-cycle DRAM latency at this tile's compute time.
// One CTA (8 warps) per SM: ~180 registers per thread; capping at 128 for two CTAs per SM
// (min_blocks 2) made ptxas spill 40 bytes, measured with -Xptxas -v on sm_80.
constexpr TileConfig kSm80Large = {128, 128, 2, 4, 4, 1, "sm80_128x128x64B_4st"};
// sm80 family, small tiles for M <= 64 (decode) and small grids: 4 warps of 32x32, 4 stages of 8 KB.
// Twice the CTAs of kSm80Large on a 64-row problem; split-K fills the rest of the SMs.
constexpr TileConfig kSm80Small = {64, 64, 2, 2, 4, 1, "sm80_64x64x64B_4st"};
// The SIMT fallback (sm_75, float32 without tf32, misaligned leading dimensions): 64x64x16 tiles,
// 256 threads of 4x4 outputs, plain loads; correct for every layout and alignment.
constexpr TileConfig kSimt = {64, 64, 2, 4, 1, 1, "simt_64x64x16"};
// Split-K: a grid with fewer CTAs than this fraction of the SMs splits K (deterministic two-pass
// reduction), each slice at least kSplitKMinTiles K-stages deep so the pipeline still fills.
constexpr int kSplitKMaxSlices = 16;
constexpr int kSplitKMinTiles = 4;
// CTA rasterization: 8 tile rows per group (see gemm_cuda_layout.h raster()).
constexpr int kRasterGroupM = 8;

// sm_90a (H100/H200): wgmma m64n256k16 fed by TMA. 128 x 256 x 64 tiles (a 128-byte K row = the TMA
// 128B swizzle span), 4 stages of 48 KB = 192 KB of 227 KB; one producer warp group (TMA) and two
// consumer warp groups of 64 x 256 each (128 fp32 accumulators per thread), persistent over tiles.
struct Sm90Config {
  int bm, bn, bk, stages, consumers;
  const char* name;
  constexpr int stage_bytes() const { return (bm + bn) * bk * 2; }
  constexpr int smem_bytes() const { return stage_bytes() * stages + 1024 /* align */ + 256 /* barriers */; }
};
constexpr Sm90Config kSm90 = {128, 256, 64, 4, 2, "sm90_wgmma_tma_128x256x64_4st_ws"};

}  // namespace tk::gemm_cuda_configs
