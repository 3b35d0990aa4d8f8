// Cache blocking per ISA, each with its reason. MR x NR is the register tile; KC x NR floats of B
// stay in L1 while the MC x KC block of A streams from L2; KC x NC of B lives in L2/L3.
#pragma once

namespace tk::gemm_kernels {

struct BlockConfig {
  int mr, nr, kc, mc, nc;
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
// neon: 8x12 = 24 q accumulators + 3 B + 2 A of 32 (lane-indexed FMA needs A in registers).
constexpr BlockConfig kNeonF32 = {8, 12, 256, 128, 2048};

// int8 (exact int32 accumulation). avx2: madd_epi16 on sign-extended pairs, same 6x16 tile.
constexpr BlockConfig kAvx2I8 = {6, 16, 256, 144, 2048};
// avx512 VNNI: dpbusd on groups of 4 (A as unsigned a+128, corrected by 128 * column sums of B).
constexpr BlockConfig kAvx512I8 = {12, 32, 256, 240, 3072};
constexpr BlockConfig kScalarI8 = {4, 8, 256, 128, 2048};
// bf16 with AVX512_BF16: dpbf16ps on pairs of K, 12x32 tile; KC 256 pairs-aligned, 16 KB bf16 panel.
constexpr BlockConfig kAvx512Bf16 = {12, 32, 256, 240, 3072};

// Skinny (decode) path: at most this many rows of A take the unpacked streaming kernels; packing B
// costs extra passes over the weights that only pay off with enough rows to reuse them. Crossovers
// measured on N = K = 4096 (AVX2, 2 threads, GFLOP/s skinny vs blocked): B stored [K, N]: M = 32
// 99 vs 77, M = 48 103 vs 99, M = 64 104 vs 111; B stored [N, K] (packed with 8x8 transposes):
// M = 16 78 vs 76, M = 24 83 vs 96.
constexpr int kSkinnyMaxMNN = 48;
constexpr int kSkinnyMaxMNT = 16;

}  // namespace tk::gemm_kernels
