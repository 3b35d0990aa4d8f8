// Index math of the CUDA attention kernels as constexpr host+device functions: the kernels
// (attention_kernel_sm80.cuh) call them and the native self-test (native/tests/attention_cuda_checks.h)
// checks them on the CPU, including a host emulation of one CTA's main loop against a float64
// reference. The shared-memory swizzle, ldmatrix addressing and mma fragment layouts are the GEMM's
// (gemm_cuda_layout.h, checked there against the PTX ISA tables); this header adds what is specific to
// attention (the tile configs it is built on are data in attention_configs.h):
//   - the packing of a GQA group into the rows of a tile (row r of (b, kv head) = query i = r / group
//     of query head hkv * group + r % group: K and V are read once for the whole group, and a decode
//     step with Sq = 1 still fills group rows of the 16-row mma);
//   - the reuse of the S = Q K^T accumulator fragments as the A operand of O = P V (no shared memory
//     round trip), the V operand read with ldmatrix.trans;
//   - the key range a row tile can see (causal offset, kvLengths, a short mask) and which key tiles
//     need the per-element visibility test; the split of that range across CTAs (flash-decoding).
#pragma once
#include <cstdint>

#include "../gemm/gemm_cuda_layout.h"
#include "attention_configs.h"

namespace tk::cuattn {

using cugemm::RowCol;
// The tile configs (TileConfig, Sm90Config, DecodeConfig, kDecodeRows, ...) by their short names.
using namespace attention_cuda_configs;

// ---- GQA row packing -----------------------------------------------------------------------------
struct RowMap {
  int64_t i;  // query position
  int64_t h;  // query head
};
TK_HD constexpr RowMap row_to_query(int64_t r, int64_t hkv, int64_t group) { return {r / group, hkv * group + r % group}; }

// ---- P fragments: the S accumulator reused as the A operand of P V -------------------------------
// S (16 x 8 fp32 per n-block) element e of lane l is at row g + 8*(e>>1), column 2t + (e&1)
// (frag_c). The A operand of m16n8k16 (16 rows x 16 keys, 16-bit) register r holds two elements at
// row g + 8*(r&1), keys 2t + 8*(r>>1) + {0, 1} (frag_a in bytes: byte 4t + 16*(r>>1)). So register r
// of key step kk is the pair (e0, e0 + 1) of n-block 2*kk + (r >> 1) with e0 = 2 * (r & 1).
struct PSource {
  int nblock;  // n-block of S (8 keys) relative to 2 * kk
  int elem;    // first of the two accumulator elements
};
TK_HD constexpr PSource p_frag_source(int reg) { return {reg >> 1, 2 * (reg & 1)}; }

// ---- shared memory tiles -------------------------------------------------------------------------
// Q: bm rows x HD*2 bytes; K and V stages: bn rows (keys) x HD*2 bytes; all with the GEMM's swizzle.
TK_HD constexpr int tile_offset(int row, int byte, int row_bytes) { return cugemm::smem_offset(row, byte, row_bytes); }
// S = Q K^T: Q is the A operand stored k-major (rows m = query rows, bytes of k = d): ldsm_a_kmajor.
//            K is the B operand stored k-major (rows n = keys, bytes of d): ldsm_b_kmajor.
// O = P V:   V is the B operand with k = keys, n = d, stored rows k x elements n (n-major):
//            ldsm_b_mnmajor with .trans. Returned as (smem row, byte) relative to (key step of 16
//            keys, pair of 8-column blocks at element nb).
TK_HD constexpr RowCol v_ldsm(int lane, int key_step, int nb) {
  return {key_step * 16 + cugemm::ldsm_b_mnmajor(lane).row, (nb + cugemm::ldsm_b_mnmajor(lane).col) * 2};
}

// ---- CTA order --------------------------------------------------------------------------------------
// blockIdx.x -> ((batch, kv head), row tile). Non-causal: the row tiles of one head are adjacent (their
// K / V reads share L2). Causal: row-tile-major, last (longest: it sees the most keys) tile first, so
// the long CTAs start in the first wave and the short ones fill the tail.
struct CtaTile {
  int64_t bh, tile;
};
TK_HD constexpr CtaTile cta_tile(int64_t cta, int64_t row_tiles, int64_t bh_count, bool causal) {
  return causal ? CtaTile{cta % bh_count, row_tiles - 1 - cta / bh_count} : CtaTile{cta / row_tiles, cta % row_tiles};
}

// ---- visible key range of a row tile -------------------------------------------------------------
// Rows [r0, r1) of (b, kv head) whose keys [0, L) may be visible (L: the kv length, clipped by a mask
// shorter than Sk) and whose query i sees keys j <= i + off under causal masking (off: the causal
// offset, kv length - Sq by default: bottom-right): keys [0, key_end) can be visible to some row; a
// key tile [j0, j0 + bn) is fully visible to every row (no per-element test) when it lies below the
// first row's causal limit and inside L, and there is no mask.
TK_HD constexpr int64_t tile_key_end(int64_t r0, int64_t r1, int64_t group, int64_t Sq, int64_t off, int64_t L, bool causal) {
  if (r1 <= r0) return 0;
  const int64_t i_max = ((r1 - 1) / group) < (Sq - 1) ? ((r1 - 1) / group) : (Sq - 1);
  const int64_t e = causal ? i_max + off + 1 : L;
  return e < 0 ? 0 : e > L ? L : e;
}
TK_HD constexpr bool tile_all_visible(int64_t j0, int bn, int64_t r0, int64_t group, int64_t Sq, int64_t off, int64_t L, bool causal,
                                      bool has_mask) {
  if (has_mask || j0 + bn > L) return false;
  if (!causal) return true;
  const int64_t i_min = r0 / group;
  return i_min < Sq && j0 + bn - 1 <= i_min + off;
}
// Per-element visibility by the length and causal rules (the mask's values are applied separately).
TK_HD constexpr bool key_visible(int64_t i, int64_t j, int64_t off, int64_t L, bool causal) { return j < L && (!causal || j <= i + off); }

// ---- split-KV (flash-decoding) ---------------------------------------------------------------------
// Key tiles [0, n_tiles) split into `splits` contiguous runs of tiles_per_split; split s takes
// [s * tps, min((s + 1) * tps, n_tiles)) (possibly empty: it then reports an empty partial).
TK_HD constexpr int64_t split_tiles_per(int64_t n_tiles, int splits) { return splits <= 1 ? n_tiles : (n_tiles + splits - 1) / splits; }

// ---- sm_90a kernel (attn_fwd_sm90, attention_kernel_sm90.cuh) -------------------------------------
// CTA = 3 warp groups: WG0 the producer (one thread issues every TMA load), WG1 / WG2 consumers owning
// packed rows [64c, 64c + 64) of the 128-row tile (c = wg - 1); Sm90Config (attention_configs.h) per
// head dim.
//   shared memory (base 1024-byte aligned): Q (128 rows x hd) | stages x K (128 keys x hd) |
//   stages x V | mbarriers full[stages], empty[stages], q (Sm90Config's offsets).
// Every tile is stored as it arrives from TMA with CU_TENSOR_MAP_SWIZZLE_128B: in "panels" of 64
// elements (one 128-byte swizzle row) per row, panel p holding elements [64p, 64p + 64) of every
// row, rows 128 bytes apart, a panel = rows x 128 bytes; inside each 1024-byte block of 8 rows the
// 16-byte chunk c of row r is at chunk c ^ (r % 8) (cugemm::sm90_offset_128b). The swizzle is a
// function of the shared-memory address bits (bits 4-6 ^= bits 7-9), so panel bases must be
// 1024-byte aligned (they are multiples of 1024 from an aligned base).
// 128B swizzle as a function of the shared-memory address (TMA writes and wgmma reads agree on it).
TK_HD constexpr uint32_t sw128(uint32_t addr) { return addr ^ (((addr >> 7) & 7u) << 4); }
// Where TMA puts element (row, e) of a panelled tile with `rows` rows at (1024-aligned) `base`.
TK_HD constexpr uint32_t sm90_tile_addr(uint32_t base, int rows, int row, int e) {
  return sw128(base + uint32_t((e / 64) * rows * 128 + row * 128 + (e % 64) * 2));
}

// Descriptor start addresses (offsets from the tile / stage base) of the wgmma operands, per k step:
//   S = Q K^T, m64n128k16, both K-major (k = head-dim elements): k step kk (16 elements = 32 bytes)
//     lies in panel kk / 4 at byte 32 * (kk % 4) of each 128-byte row; the next 8 rows are 1024
//     bytes on (SBO = 1024; LBO unused with the swizzle inside one row: 16). Q: consumer c's rows
//     start 64 rows (8 KiB) into each panel.
//   O += P V, m64nHDk16, B = V N-major (imm-trans-b = 1; n = head-dim elements contiguous in a row,
//     k = keys = rows): key step kk (16 keys) starts at row 16kk; 64 n-elements per 128-byte row,
//     the next 64 (next panel) LBO = bn * 128 bytes on; the next 8 keys SBO = 1024 bytes on.
// PTX ISA "Shared Memory Matrix Layout" canonical forms, 128B swizzle, T = 8 16-bit elements:
//   K-major ((8,m),(T,2k)):((8T,SBO),(1,T)); MN-major ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO)).
TK_HD constexpr uint32_t sm90_q_desc_off(const Sm90Config& c, int consumer, int kk) {
  return uint32_t((kk / 4) * c.bm * 128 + consumer * 64 * 128 + (kk % 4) * 32);
}
TK_HD constexpr uint32_t sm90_k_desc_off(const Sm90Config& c, int kk) { return uint32_t((kk / 4) * c.bn * 128 + (kk % 4) * 32); }
TK_HD constexpr uint32_t sm90_v_desc_off(const Sm90Config&, int kk) { return uint32_t(kk * 16 * 128); }
TK_HD constexpr uint32_t sm90_v_lbo(const Sm90Config& c) { return uint32_t(c.bn * 128); }
constexpr uint32_t kSm90Sbo = 1024;

// What wgmma reads for a descriptor (start, LBO, SBO, 128B swizzle), per the canonical layouts above:
// K-major operand element (row m / n, k element), and MN-major operand element (mn element, k).
TK_HD constexpr uint32_t wgmma_kmajor_sw128(uint32_t start, uint32_t sbo, int row, int k) {
  return sw128(start + uint32_t((row % 8) * 128 + (row / 8) * sbo + k * 2));
}
TK_HD constexpr uint32_t wgmma_mnmajor_sw128(uint32_t start, uint32_t lbo, uint32_t sbo, int mn, int k) {
  return sw128(start + uint32_t((mn % 64) * 2 + (mn / 64) * lbo + (k % 8) * 128 + (k / 8) * sbo));
}

// Register fragments (PTX ISA "Register Fragments", wgmma .m64nNk16): thread t of the warp group,
// warp w = t / 32, g = lane / 4, q = lane % 4.
//   D (fp32 accumulator, N/2 per thread): element i at row 16w + g + 8 * ((i >> 1) & 1), column
//     8 * (i >> 2) + 2q + (i & 1)  (cugemm::wgmma_frag_d);
//   A in registers (16-bit, 4 x .b32 per thread = a0..a7): register r holds the pair at row
//     16w + g + 8 * (r & 1), k columns 8 * (r >> 1) + 2q + {0, 1}.
TK_HD constexpr RowCol wgmma_frag_a_reg(int thread_in_group, int reg) {
  return {16 * (thread_in_group >> 5) + ((thread_in_group & 31) >> 2) + 8 * (reg & 1), 8 * (reg >> 1) + 2 * (thread_in_group & 3)};
}
// So the P operand of key step kk, register r, is the pair of S accumulators (i, i + 1) with
// i = 8kk + 2r: same row, keys 16kk + 8(r >> 1) + 2q + {0, 1} -- no data movement between threads.
TK_HD constexpr int sm90_p_acc(int kk, int reg) { return 8 * kk + 2 * reg; }

// TMA tensor maps (cuTensorMapEncodeTiled arguments; dim 0 innermost, byte strides of dims 1..) and
// the box coordinates the producer issues. Q: 5D {D, group, Sq, Hkv, B} with strides {qh, qs,
// group * qh, qb} (the query head hkv * group + gi at gi * qh + hkv * group * qh), box {64, group,
// 128 / group, 1, 1}: the box's 128 rows of 128 bytes are (query r0 / group + rr / group, head
// rr % group) = packed rows r0 .. r0 + 127 in order (needs 128 % group == 0). K / V: 4D {D, Sk, Hkv,
// B}, box {64, 128, 1, 1}. Panel p of a tile is the box at head-dim coordinate 64p. Coordinates
// past a dimension (rows past Sq, keys past Sk, head-dim elements past D) read as zero.
struct TmaMap {
  int rank;
  int64_t dims[5];
  int64_t strides[4];  // bytes, of dims 1 .. rank - 1
  int box[5];
};
struct TmaCoord {
  int c[5];
};
TK_HD constexpr TmaMap sm90_q_map(int64_t D, int64_t group, int64_t Sq, int64_t Hkv, int64_t B, int64_t qb, int64_t qh, int64_t qs) {
  return {5, {D, group, Sq, Hkv, B}, {qh * 2, qs * 2, group * qh * 2, qb * 2}, {64, int(group), int(128 / group), 1, 1}};
}
TK_HD constexpr TmaMap sm90_kv_map(int64_t D, int64_t Sk, int64_t Hkv, int64_t B, int64_t kb, int64_t kh, int64_t ks) {
  return {4, {D, Sk, Hkv, B, 1}, {ks * 2, kh * 2, kb * 2, 0}, {64, 128, 1, 1, 1}};
}
TK_HD constexpr TmaCoord sm90_q_coord(int panel, int64_t r0, int64_t group, int64_t hkv, int64_t b) {
  return {{panel * 64, 0, int(r0 / group), int(hkv), int(b)}};
}
TK_HD constexpr TmaCoord sm90_kv_coord(int panel, int64_t kt, int bn, int64_t hkv, int64_t b) {
  return {{panel * 64, int(kt * bn), int(hkv), int(b), 0}};
}

// kvLengths: a key tile holding key L - 1 (the last valid one) and keys in [L, Sk) would feed the
// padding's V rows to P V with weight 0 -- and 0 x Inf / NaN is NaN. Those rows, [first, end) of the
// tile (empty unless L < Sk inside the tile), are zeroed in shared memory before the P V wgmma (keys past
// Sk are already zero: TMA's out-of-range fill). The sm80 / decode kernels never load them.
struct RowRange {
  int first, end;
};
TK_HD constexpr RowRange sm90_v_pad_rows(int64_t j0, int bn, int64_t L, int64_t Sk) {
  const int64_t f = L - j0, e = (Sk < j0 + bn ? Sk : j0 + bn) - j0;
  return f <= 0 || f >= bn || e <= f ? RowRange{0, 0} : RowRange{int(f), int(e)};
}
constexpr int kSm90PadBarrier = 1;  // named barrier of the two consumer warp groups (256 threads)

// Pipeline bookkeeping: K / V tile number `it` (0, 1, ... in this CTA) uses stage it % stages; the
// consumers wait for completion of phase (it / stages) of full[stage] (parity (it / stages) & 1); the
// producer waits for phase (it / stages) - 1 of empty[stage] (a fresh barrier counts as having
// completed the phase before phase 0: parity ((it / stages) & 1) ^ 1 returns at once).
TK_HD constexpr int sm90_stage(int64_t it, int stages) { return int(it % stages); }
TK_HD constexpr uint32_t sm90_full_parity(int64_t it, int stages) { return uint32_t((it / stages) & 1); }
TK_HD constexpr uint32_t sm90_empty_parity(int64_t it, int stages) { return uint32_t(((it / stages) & 1) ^ 1); }

// ---- split-KV decode kernel (attn_decode) -----------------------------------------------------------
// For Sq * group <= kDecodeRows packed rows (decode steps: Sq = 1..8 with MHA, a whole GQA group):
// one CTA = kDecodeWarps warps on one (batch, kv head, chunk of <= 8 rows), a contiguous run of
// key tiles of its split (DecodeConfig, attention_configs.h). A key tile of warps * kpw keys (K and V, swizzled like the sm80 tiles,
// two cp.async stages); warp w owns keys [w * kpw, (w + 1) * kpw) of every tile and keeps its own
// online softmax state for all the rows; the warps' states are merged in warp order at the end.
//   scores: lane l takes key l % kpw and part l / kpw of the head dim (lpk = 32 / kpw lanes per
//           key, chunks_per_lane 16-byte chunks each, summed over the parts with xor shuffles).
//           The 8 lanes of a shared-memory phase read 8 consecutive keys at the same logical chunk
//           (the swizzle keeps them on 8 bank groups) and the same q chunk (fp32 in smem: a
//           broadcast). The q rows are the only per-row operand: no 16-row mma tile is wasted.
//   P V:    lane l owns head-dim elements [l * hd / 32, (l + 1) * hd / 32) of every row's output
//           (one contiguous piece of a 16-byte chunk) and walks the warp's kpw keys, the key's p
//           broadcast by a shuffle from the lane that owns the key.
// Score step: lane's (key row in the tile, logical byte of the chunk) for chunk step c of warp w.
TK_HD constexpr RowCol decode_k_chunk(const DecodeConfig& c, int warp, int lane, int step) {
  return {warp * c.kpw + lane % c.kpw, ((lane / c.kpw) * c.chunks_per_lane() + step) * 16};
}
// P V step: lane's first head-dim element (v_elems() of them, in one 16-byte chunk).
TK_HD constexpr int decode_v_elem(const DecodeConfig& c, int lane) { return lane * c.v_elems(); }
// The lane holding the (part 0) score of key kk of its warp: the source of the p broadcast.
TK_HD constexpr int decode_p_lane(const DecodeConfig&, int kk) { return kk; }
// Packed rows of the row chunk rc: [rc * kDecodeRows, min(+kDecodeRows, rows_total)).
TK_HD constexpr int64_t decode_row_chunks(int64_t rows_total) { return (rows_total + kDecodeRows - 1) / kDecodeRows; }

}  // namespace tk::cuattn
