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

}  // namespace tk::linear_attention_configs
