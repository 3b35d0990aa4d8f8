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

// ---- CUDA: the sm80 tier (float16 / bfloat16 q, k, v on compute capability >= 8.0) ----
// The same CTA program (one CTA per (B * H, 32 value columns), the state slice in float32 shared
// memory), with the two intra-block products on tensor cores (mma.sync m16n8k16, float32 accumulation):
//   S = Q K^T (bs x bs over D padded to 16): the operands are the inputs themselves (16-bit, exact), the
//     products exact, the sums float32: the contract's float32 accumulation, no extra rounding.
//   O_intra = P V: P = scale * lambda^(i - j) * S (masked) is rounded to the input's 16-bit type for the
//     mma, as FlashAttention rounds its P: one relative rounding (2^-8 bf16, 2^-11 fp16) per term of the
//     intra-block sum, measured by the self-test's emulation (linear_attention_cuda_checks.h) against the
//     float64 contract and bounded there by u16 * (the sum of absolute terms); float16 adds the limit that
//     |scale * lambda^(i - j) * q_i . k_j| stays below 65504 (scale is folded into P for that reason).
//   The state products (Q times the state, the update K^T V with the decay weights) stay SIMT float32
//     fmaf, reading the 16-bit Q / K / V tiles: the state carries every token before the block, so
//     rounding it (or the decay-weighted K) to 16 bits for an mma would add a 2^-8 relative error per
//     block that does not average out over a long sequence; at bs 32 they are 4 * D * 32 of the
//     2 * bs * (D + 32) + 4 * D * 32 flops per token and slice.
// Non-causal calls have no intra-block products: the tier runs the float32 state products only.
//   kCudaTcBlocks: 32 (8 warps: the 2 x 4 16x8 tiles of S and of O_intra, one per warp) or 16 where shared
//     memory is short (2 + 4 tiles); 16-bit tiles halve Q, K and V's shared memory: D = 128 at bs 32
//     takes 42.3 KiB, D = 256 74.3 KiB (bs 16: 52.9 KiB). 8 tokens do not fill an m16 tile: no tc block below 16 (the SIMT kernel runs).
constexpr int kCudaTcBlocks[] = {32, 16};

}  // namespace tk::linear_attention_configs
