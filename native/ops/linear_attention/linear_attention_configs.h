// Block sizes of linear_attention, as data with their reasons (docs/design.md: kernels are data-driven).
#pragma once
#include <cstdint>

namespace tk::linear_attention_configs {

// CPU: tokens per block (B_s of Lightning Attention-2). Per token a block costs 2 * B_s * (D + Dv)
// flops inside (Q K^T over the block, then P V; half of Q K^T is masked away) and 4 * D * Dv across
// (Q times the state, the state update), so B_s near D balances the two; 64 also keeps a block's
// Q, K, V, P and O (5 x 16 KiB in float32 at D = Dv = 64) within a 1 MiB L2 beside the 16 KiB state.
// (Not yet tuned: 32 and 128 are the other candidates to measure with bench linear-attention.)
constexpr int64_t kCpuBlock = 64;

// ---- CUDA: the SIMT kernel (linear_attention_cuda.cu, index math in linear_attention_cuda_layout.h) ----
// One CTA per (batch * head, slice of kCudaDvSlice value columns): the D x 32 slice of the running
// state lives in shared memory for the whole sequence, so a CTA reads q, k and its v columns once and
// no state ever goes through global memory. Slicing Dv gives B * H * ceil(Dv / 32) CTAs (B * H = 1,
// Dv = 128: 4), the most that needs no cross-CTA scan along the sequence; q . k is recomputed per
// slice (2 * B_s * D flops per token per slice, small beside the 4 * D * 32 of the state products).
//   kCudaDvSlice = 32: one value column per lane, so v / out rows and state rows are read and written
//     as 128-byte runs and the shared-memory reads of V, the state and the outputs are consecutive words.
//   kCudaThreads = 256 (8 warps): a warp per output row (8 rows in flight), and a block's tiles are
//     loaded in bs * D / 256 rounds; the per-thread registers stay small (4 outputs at bs = 32).
//   B_s in kCudaBlocks: the largest whose shared memory (2 * bs * (D | 1) for Q and K, bs * 32 for V,
//     bs * (bs + 1) for the masked P, D * 32 for the state, bs + 1 powers; floats) fits the device's
//     per-block opt-in. 32 (a warp of keys per P row) for D <= 128 everywhere (56.5 KiB at D = 128; D = 256 takes 104.5 KiB);
//     16 / 8 keep D = 256 on sm_75 (64 KiB) and sm_86 / sm_89 (99 KiB) at the cost of more state
//     updates per token. Larger D than 8 tokens' worth fits: ERR_TK_UNSUPPORTED, run on the CPU.
constexpr int kCudaThreads = 256;
constexpr int kCudaDvSlice = 32;
constexpr int kCudaBlocks[] = {32, 16, 8};

}  // namespace tk::linear_attention_configs
