// Block sizes of linear_attention, as data with their reasons (docs/design.md: kernels are data-driven).
#pragma once
#include <cstdint>

namespace tk::linear_attention_configs {

// CPU: tokens per block (B_s of Lightning Attention-2). Per token a block costs 2 * B_s * (D + Dv)
// flops inside (Q K^T over the block, then P V; half of Q K^T is masked away) and 4 * D * Dv across
// (Q times the state, the state update), so B_s near D balances the two; 64 also keeps a block's
// Q, K, V, P and O (5 x 16 KiB in float32 at D = Dv = 64) within a 1 MiB L2 beside the 16 KiB state.
// Measured at H 16, S 8192, D = Dv = 64 on Zen 5 (bench linear-attention): 32 / 64 / 128 gave
// ~equal time within 10 %, 16 was slower (the GEMM calls are too small to amortize their packing).
constexpr int64_t kCpuBlock = 64;

// CUDA (linear_attention_cuda.cu): one CTA per (b, h) walks the blocks in order, the D x Dv state in
// shared memory as float32. B_s = 64 tokens per block, 4 warps; a warp owns 16 rows of the block.
constexpr int kCudaBlock = 64;
constexpr int kCudaWarps = 4;
constexpr int kCudaMaxD = 128;  // D and Dv up to 128: the state (128 x 128 x 4 = 64 KiB) fits shared memory

}  // namespace tk::linear_attention_configs
