// Index math of the CUDA W4A4 kernels (w4a4_cuda.cu), as constexpr host + device functions: the
// kernels call them and the native self-test (native/tests/w4a4_cuda_checks.h) checks them on the CPU
// against the PTX ISA fragment tables and with a host emulation of one CTA's main loop.
//
// Operands as the GEMM kernel reads them (mma "row.col": A rows and B columns contiguous in K):
//   W  [N, K/2] bytes: the public Int4Weights layout (DESIGN.md §5: row-major, k = 2j in the low nibble
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

#include "../gemm/gemm_cuda_layout.h"

namespace tk::cuw4a4 {

using cugemm::RowCol;

constexpr int kStageBytes4 = 64;  // bytes of K per stage row for int4 operands (the GEMM's 64-byte stages)
constexpr int kStageK = 128;      // k per stage (both activation widths)
constexpr int kStepK = 64;        // k per mma step (one m16n8k64.s4, or two m16n8k32.s8)

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
TK_HD constexpr bool flush_after_step(int64_t step, int64_t K, int64_t gs) {
  return step < K / kStepK && (step + 1) % (gs / kStepK) == 0;
}

}  // namespace tk::cuw4a4
