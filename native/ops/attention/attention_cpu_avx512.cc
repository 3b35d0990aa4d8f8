// AVX-512 attention kernels (compiled with -mavx512f/bw/vl/dq/bf16; used only when CPUID has them):
// the same tile kernel as AVX2 on 16 lanes (6x32 register tiles, 12 of the 32 zmm accumulators);
// with AVX512_BF16, bfloat16 q k^T runs on vdpbf16ps (Bf16DotScores in attention_kernel_impl.h).
#define TK_SIMD_ISA 3
#include "attention_kernel_impl.h"

namespace tk::attention_kernels {

void get_kernels_avx512(Kernels* k, bool has_bf16) {
  fill_kernels(k, has_bf16 ? "avx512 6x32 flash (bf16 q.k and p.v on vdpbf16ps)" : "avx512 6x32 flash");
  if (has_bf16) k->run = attention_tile_bf16dot, k->prepack = prepack_bf16dot, k->block_words = block_words_bf16dot;
}

}  // namespace tk::attention_kernels
