// Index math of the CUDA W4A4 kernels (w4a4_cuda.cu), as constexpr host + device functions: the
// kernels call them and the native self-test (native/tests/w4a4_cuda_checks.h) checks them on the CPU
// against the PTX ISA fragment tables and with a host emulation of one CTA's main loop.
//
// Operands as the GEMM kernel reads them (mma "row.col": A rows and B columns contiguous in K):
//   W  [N, K/2] bytes: the public Int4Weights layout (docs/design.md, Data conventions: row-major, k = 2j in the low nibble
//      of byte j, two's complement). It IS the B operand of mma.m16n8k64.s4 as stored (a column of B
//      = a weight row, k-contiguous, low nibble first = the order PTX packs sub-byte elements in a
//      register), so no repacking is needed: 16-byte cp.async chunks into the GEMM's XOR-swizzled
//      shared tiles, ldmatrix out of them (conflict-free: the GEMM's swizzle, checked by its self-test).
//   X4 [M, act_row_bytes(K, 4)]: per-token int4 activations written by the fused quantize kernel in the
//      same nibble layout, rows padded with zeros to a multiple of kStageK k (= whole stages).
//   X8 [M, act_row_bytes(K, 8)]: W4A8's int8 activations, permuted inside each 32-k chunk (act8_pos) so
//      that one ldmatrix fragment of it lines up with the int4 weight fragment unpacked to bytes.
//
// Fragments (PTX ISA, "Matrix Fragments for mma.m16n8k64" (.s4) and "mma.m16n8k32" (.s8)): with
// g = lane / 4 and t = lane % 4, the byte form of gemm_cuda_layout.h holds for both shapes -- register r
// of A holds the 4 bytes at row g + 8 (r & 1), byte 4t + 16 (r >> 1) of a 16-row x 32-byte block; B
// register r the 4 bytes at column g, byte 4t + 16 r. For .s4 those 4 bytes are k = 8t + 32 (r>>1) + i
// (A) / 8t + 32 r + i (B), nibble i of the register.
//
// The int8 tensor-core route (the Hopper path: sm_90 has no INT4 MMA; also run on sm_80+ when forced)
// unpacks each .s4 register into two .s8 registers: E = nibbles {0, 2, 4, 6}, O = {1, 3, 5, 7},
// sign-extended to bytes. One m16n8k64.s4 over a 32-byte step then equals two m16n8k32.s8 with
//   A = {a0.E, a1.E, a0.O, a1.O}, B = {b0.E, b0.O}   and   A = {a2.E, a3.E, a2.O, a3.O}, B = {b1.E, b1.O}:
// in each, A position p of row g and B position p of column g carry the same k (a permutation of k
// applied to both operands leaves the dot product unchanged; checked by the self-test).
//
// sm_75 has mma.m8n8k32.s4 only: one m16n8k64 = four of them, (a0, b0) and (a2, b1) into rows g
// (c0, c1), (a1, b0) and (a3, b1) into rows g + 8 (c2, c3) -- the same registers, no data movement.
#pragma once
#include <cstdint>
#include <cstring>

#include "../gemm/gemm_cuda_layout.h"
#include "w4a4_configs.h"

namespace tk::cuw4a4 {

using cugemm::RowCol;
// The launch configs (kStageK, TcConfig, kWoWarps, ...) by their short names.
using namespace w4a4_cuda_configs;

constexpr int kStepK = 64;  // k per mma step (one m16n8k64.s4, or two m16n8k32.s8)

TK_HD constexpr int64_t padded_k(int64_t K) { return (K + kStageK - 1) / kStageK * kStageK; }
// Bytes per activation row as the GEMM reads it (4 or 8 bits).
TK_HD constexpr int64_t act_row_bytes(int64_t K, int bits) { return padded_k(K) * bits / 8; }

// W4A8 activation byte position of k inside its row: within each 32-k chunk, positions 0..15 hold
// k = 8 (p / 4) + 2 (p % 4) and positions 16..31 hold those k + 1 (the E / O split of the weights).
TK_HD constexpr int64_t act8_pos(int64_t k) {
  const int64_t c = k & ~int64_t(31);
  const int r = int(k & 31);  // r = 8 t + 2 i + odd
  const int t = r >> 3, i = (r >> 1) & 3, odd = r & 1;
  return c + 16 * odd + 4 * t + i;
}
// The inverse: k at byte position p.
TK_HD constexpr int64_t act8_k(int64_t p) {
  const int64_t c = p & ~int64_t(31);
  const int r = int(p & 31);
  const int odd = r >> 4, t = (r & 15) >> 2, i = r & 3;
  return c + 8 * t + 2 * i + odd;
}

// .s4 fragment element (row or column within the block, k within the 64-k step) of nibble i of
// register r, per the PTX table (A: r in 0..3, B: r in 0..1).
TK_HD constexpr RowCol s4_frag_a(int lane, int r, int i) { return {(lane >> 2) + 8 * (r & 1), 8 * (lane & 3) + 32 * (r >> 1) + i}; }
TK_HD constexpr RowCol s4_frag_b(int lane, int r, int i) { return {lane >> 2, 8 * (lane & 3) + 32 * r + i}; }

// The int8 route's unpack: nibbles {0,2,4,6} (E) or {1,3,5,7} (O) of x, sign-extended, one per byte.
TK_HD constexpr uint32_t nib_bytes(uint32_t x, bool odd) {
  const uint32_t v = (odd ? (x >> 4) : x) & 0x0F0F0F0Fu;
  // sign-extend each 4-bit field to 8 bits without cross-byte borrows: (v ^ 8) - 8 per byte ==
  // v | (0xF0 where bit 3 is set)
  return v | ((v & 0x08080808u) * 0x1Eu);
}

// ---- group bookkeeping --------------------------------------------------------------------------
// Per-group int32 partials: the kernel flushes its integer accumulators into float ones (times the
// group's weight scale) after the last mma step of each group. Step s covers k [64 s, 64 s + 64).
// Tensor-core paths need group sizes that are multiples of 64 (per channel: K a multiple of 64).
TK_HD constexpr bool tc_group_ok(int64_t K, int64_t gs) { return K > 0 && K % kStepK == 0 && gs % kStepK == 0; }
TK_HD constexpr bool flush_after_step(int64_t step, int64_t K, int64_t gs) { return step < K / kStepK && (step + 1) % (gs / kStepK) == 0; }

// ---- split-K for decode shapes (few output tiles) ---------------------------------------------------
// The grid's y dimension splits the k stages; each split writes a partial to a workspace and
// w4a4_split_reduce adds the splits in order (deterministic) and runs the epilogue. Grouped scales:
// split boundaries fall on group boundaries (a multiple of lcm(gs, 128) k), so each split's partial
// is a float sum of whole groups' scaled integer sums. Per channel (one group): the splits' int32
// partials are added as integers and scaled once -- the unsplit kernel's bits exactly.
struct TcSplit {
  int splits;  // 1: no split
  int kt_per;  // stages per split
  bool ints;   // int32 partials (per channel) rather than float ones
};
TK_HD constexpr int64_t tc_split_unit(int64_t K, int64_t gs) { return gs >= K ? 1 : gs % kStageK == 0 ? gs / kStageK : gs / kStepK; }
TK_HD constexpr TcSplit tc_split_plan(int64_t K, int64_t gs, int64_t tiles, int64_t sms) {
  const int64_t k_tiles = padded_k(K) / kStageK, unit = tc_split_unit(K, gs);
  const bool ints = gs >= K;
  // each split at least kTcSplitMinStages stages (the pipeline) and one unit; at most kTcSplitMax
  // splits; about kTcSplitCtasPerSm CTAs per SM (w4a4_configs.h)
  const int64_t units = (k_tiles + unit - 1) / unit;
  int64_t want = tiles * kTcSplitFillDivisor > sms ? 1 : (kTcSplitCtasPerSm * sms + tiles - 1) / tiles;
  if (want > units) want = units;
  if (want > k_tiles / kTcSplitMinStages) want = k_tiles / kTcSplitMinStages;
  if (want > kTcSplitMax) want = kTcSplitMax;
  if (want < 2) return {1, int(k_tiles), false};
  const int64_t per = (units + want - 1) / want * unit;
  return {int((k_tiles + per - 1) / per), int(per), ints};
}

// ---- the weight-only tensor-core path (int4Matmul: float x, int4 W, mma.m16n8k16.bf16) ----------------
// No shared memory: each lane loads its own operands straight from global memory. A chunk of K is
// 32 V k (V = 1, 2 or 4 32-bit weight words per lane and column, chosen so that groups are whole
// chunks); lane t = lane % 4 of a quad loads the V consecutive words at byte 16 V c + 4 V t of its
// weight row (column g = lane / 4 of the 8-column block) and the 8 V consecutive floats of x at
// k = 32 V c + 8 V t of its rows (g and g + 8). Both operands are permuted the same way inside the
// chunk (a dot product does not care about the order of k): mma step (j, h) (j < V, h < 2) takes
// element e of register r of the PTX fragments (B: k_mma = 2t + 8r + e; A: the same k for rows g, g + 8)
// from chunk offset  wo_k = 8 V t + 8 j + 4 h + 2 r + e  -- nibble wo_nib = 4 h + 2 r + e of word j, and
// float 8 j + 4 h + 2 r + e of the lane's run of x (one float4 per row and (j, h)).
//
// Exactness: q - z (|q - z| <= 135) is an integer a bfloat16 holds exactly, built in fp32 as
// (2^23 + u) - (2^23 + 8 + z) with u = q + 8 = the nibble with its top bit flipped (exact, then converted exactly to bf16).
// x = b0 + b1 + b2 exactly (three bf16 terms: round to nearest, subtract, twice: 8 + 8 + 8 bits of
// a 24-bit significand), so every product b_i * (q - z) is exact in the fp32 accumulator and the
// result is an fp32 sum like the CPU's (per-group partials scaled by s_w in the flush). Not exact:
// |x| above ~2^120 (products of the unscaled q - z can overflow where the CPU's scaled ones don't);
// bf16 subnormal residues of |x| < ~2^-110 lose bits.
TK_HD constexpr int wo_chunk_k(int V) { return 32 * V; }
TK_HD constexpr int wo_k(int V, int t, int j, int h, int r, int e) { return 8 * V * t + 8 * j + 4 * h + 2 * r + e; }
TK_HD constexpr int wo_nib(int h, int r, int e) { return 4 * h + 2 * r + e; }
TK_HD constexpr int64_t wo_w_byte(int V, int t, int64_t c) { return c * 16 * V + 4 * V * t; }
TK_HD constexpr int64_t wo_x_k(int V, int t, int64_t c) { return c * 32 * V + 8 * V * t; }
// Words per lane for a group size (0: the tensor-core path does not take it; K % gs == 0 is given).
TK_HD constexpr int wo_words(int64_t gs) { return gs % 128 == 0 ? 4 : gs % 64 == 0 ? 2 : gs % 32 == 0 ? 1 : 0; }

TK_HD float wo_u2f(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}
TK_HD uint32_t wo_f2u(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}
// The fp32 constant of a group: 2^23 + 8 + z.
TK_HD float wo_zero_bias(int z) { return 8388608.0f + float(8 + z); }
// q - z of nibble i of a weight word as an fp32 integer (exact).
TK_HD float wo_deq(uint32_t word, int i, float zb) { return wo_u2f(((word >> (4 * i)) & 15u) ^ 0x4B000008u) - zb; }
// Two floats -> packed bf16x2 (lo in the low half), round to nearest even (cvt.rn.bf16x2.f32 on sm_80+).
TK_HD uint16_t wo_bf16_rn(float x) {
  const uint32_t u = wo_f2u(x);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((u >> 16) | 0x40u);  // NaN stays NaN
  return uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}
TK_HD uint32_t wo_pack_bf16(float lo, float hi) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint32_t d;
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(d) : "f"(hi), "f"(lo));
  return d;
#else
  return uint32_t(wo_bf16_rn(lo)) | (uint32_t(wo_bf16_rn(hi)) << 16);
#endif
}
// x = b0 + b1 + b2 for a pair of floats: s[i] = packed bf16x2 of term i. A non-finite x keeps its
// value in b0 (residues 0), like the CPU's x * w.
TK_HD void wo_split3(float x0, float x1, uint32_t (&s)[3]) {
  s[0] = wo_pack_bf16(x0, x1);
  float r0 = x0 - wo_u2f(s[0] << 16), r1 = x1 - wo_u2f(s[0] & 0xFFFF0000u);
  r0 = r0 - r0 == 0.0f ? r0 : 0.0f;  // inf - inf, NaN - NaN: no residue
  r1 = r1 - r1 == 0.0f ? r1 : 0.0f;
  s[1] = wo_pack_bf16(r0, r1);
  s[2] = wo_pack_bf16(r0 - wo_u2f(s[1] << 16), r1 - wo_u2f(s[1] & 0xFFFF0000u));
}
// Split-K plan for a grid of `tiles` (n blocks x m tiles) CTAs of kWoWarps warps over `chunks` chunks:
// the number of k splits (each at least kWoSplitMinChunks chunks: one per warp; at most kWoSplitMax)
// for about `want` CTAs.
TK_HD constexpr int wo_splits(int64_t tiles, int64_t chunks, int64_t want) {
  if (tiles >= want || chunks < 2 * kWoSplitMinChunks) return 1;
  int64_t s = (want + tiles - 1) / tiles;
  if (s > chunks / kWoSplitMinChunks) s = chunks / kWoSplitMinChunks;
  if (s > kWoSplitMax) s = kWoSplitMax;
  return int(s < 1 ? 1 : s);
}

}  // namespace tk::cuw4a4
