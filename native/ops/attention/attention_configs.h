// Launch shapes of the CUDA attention kernels, as data with their reasons: attention_cuda.cu's plan
// picks from these and the kernels take them as template arguments; the index math built on them
// (and checked by the self-test) is attention_cuda_layout.h. SM count and shared memory per block
// come from the device (tk::cuda::probe()) at run time, never from here. Configs as data with
// their reasons: docs/design.md, Architecture (kernels are data-driven).
#pragma once
#include <cstdint>

namespace tk::attention_cuda_configs {

// ---- sm80: attn_fwd_sm80 (mma.sync, FlashAttention-2 style) ---------------------------------------
// One CTA: warps x 16 query rows (one m16 mma row block per warp) against key tiles of bn, Q resident
// in shared memory, K and V double-buffered (cp.async). hd is the head dim padded to a power of two
// (32, 64, 128, 256) so that a smem row is a power of two of bytes (the GEMM's swizzle); the padding
// columns are zero-filled on load and never stored.
//   hd <= 128: 4 warps x 16 = 64 rows, 64 keys: S is 32 fp32 per thread, O is hd / 2 (64 at 128),
//              smem = 64*hd*2 + 2*2*64*hd*2 (80 KiB at 128: two CTAs per SM on sm_80 / sm_90,
//              one on sm_86 / sm_89, whose opt-in limit is 99 KiB).
//   hd = 256:  4 warps x 16 rows, 32 keys: O alone is 128 fp32 per thread; a 64-key S (32 more) and
//              its P fragments would push past 255 registers. smem 32 + 64 KiB = 96 KiB.
// q_regs: Q's A fragments stay in registers (hd / 16 * 4 of them: 32 at 128; ptxas -v: 203 -> 234
// registers at 128, still two CTAs per SM, no spills) for head dims 64 and 128; at 256 the O
// accumulators alone are 128 registers, and at 32 ptxas keeps the kernel at 128 registers and spilled
// 44 bytes with them, so those two re-read Q from shared memory (ldmatrix) per key tile.
struct TileConfig {
  int hd, warps, bm, bn;
  bool q_regs;
  constexpr int threads() const { return warps * 32; }
  constexpr int row_bytes() const { return hd * 2; }
  constexpr int smem_bytes() const { return bm * row_bytes() + 2 * 2 * bn * row_bytes(); }
};
constexpr TileConfig kCfg32{32, 4, 64, 64, false};
constexpr TileConfig kCfg64{64, 4, 64, 64, true};
constexpr TileConfig kCfg128{128, 4, 64, 64, true};
constexpr TileConfig kCfg256{256, 4, 64, 32, false};
constexpr int kMaxHeadDim = 256;

// The padded head dim for D (0: the tensor-core kernels do not take it).
constexpr int padded_head_dim(int64_t D) { return D <= 0 ? 0 : D <= 32 ? 32 : D <= 64 ? 64 : D <= 128 ? 128 : D <= 256 ? 256 : 0; }
// The sm80 config of a padded head dim.
constexpr const TileConfig& sm80_config(int hd) { return hd == 32 ? kCfg32 : hd == 64 ? kCfg64 : hd == 128 ? kCfg128 : kCfg256; }

// ---- sm90: attn_fwd_sm90 (wgmma + TMA, FlashAttention-3 style; sm_90a) ------------------------------
// CTA = 3 warp groups: one producer (TMA) and kSm90Consumers consumers of 64 packed rows each of the
// 128-row tile. Head dims 64 and 128 only (other padded head dims take the sm80 kernel), 128 keys per
// K / V tile. Shared memory (attention_cuda_layout.h, "sm_90a kernel", has the layout):
//   hd 128: 32 KiB Q + 2 x 64 KiB (K + V) = 160 KiB, 2 stages.
//   hd 64:  16 + 3 x 32 = 112 KiB, 3 stages.
struct Sm90Config {
  int hd, bm, bn, stages;
  constexpr int panels() const { return hd / 64; }
  constexpr int q_bytes() const { return bm * hd * 2; }
  constexpr int kv_bytes() const { return bn * hd * 2; }  // one of K / V, one stage
  constexpr int bar_offset() const { return q_bytes() + 2 * stages * kv_bytes(); }
  constexpr int smem_bytes() const { return 1024 + bar_offset() + (2 * stages + 1) * 8; }  // + alignment slack
  constexpr int k_offset(int stage) const { return q_bytes() + stage * kv_bytes(); }
  constexpr int v_offset(int stage) const { return q_bytes() + (stages + stage) * kv_bytes(); }
};
constexpr Sm90Config kSm90Cfg64{64, 128, 128, 3};
constexpr Sm90Config kSm90Cfg128{128, 128, 128, 2};
constexpr int kSm90Threads = 384;  // producer + 2 consumer warp groups
constexpr int kSm90Consumers = 2;  // 2 x 64 rows = the 128-row tile (wgmma's m64 per warp group)
// setmaxnreg: the producer only issues TMA loads; the consumers hold 64 S + hd / 2 O accumulators per
// thread. 128 x 40 + 256 x 232 = 64512 of the SM's 65536 registers, one CTA per SM.
constexpr int kSm90ProducerRegs = 40;
constexpr int kSm90ConsumerRegs = 232;
// The sm90 config of a padded head dim (64 or 128).
constexpr Sm90Config sm90_config(int hd) { return hd == 64 ? kSm90Cfg64 : kSm90Cfg128; }

// ---- decode: attn_decode (split-KV decode kernel, flash-decoding) -----------------------------------
// For Sq * group <= kDecodeRows packed rows (decode steps: Sq = 1..8 with MHA, a whole GQA group):
// one CTA = kDecodeWarps warps on one (batch, kv head, chunk of <= 8 rows), a contiguous run of key
// tiles of its split; a key tile is kDecodeWarps * kpw keys, warp w owning keys [w * kpw, (w + 1) *
// kpw) (attention_cuda_layout.h, "split-KV decode kernel", has the lane mapping).
// kpw per head dim: a 32 KiB stage (K + V) for hd >= 64, so the two stages are 64 KiB and a CTA
// keeps 32 KiB of KV reads in flight (3 CTAs per SM on sm_80 / sm_90; 1 on sm_86 / sm_89).
constexpr int kDecodeWarps = 4;  // each keeps its own online-softmax state, merged in warp order at the end
constexpr int kDecodeRows = 8;   // packed rows per CTA: the q rows live in shared memory as fp32
struct DecodeConfig {
  int hd, kpw;
  constexpr int lpk() const { return 32 / kpw; }
  constexpr int keys() const { return kDecodeWarps * kpw; }  // keys per tile
  constexpr int row_bytes() const { return hd * 2; }
  constexpr int chunks_per_lane() const { return hd / 8 / lpk(); }
  constexpr int v_elems() const { return hd / 32; }
  constexpr int q_bytes() const { return kDecodeRows * hd * 4; }
  constexpr int stage_bytes() const { return keys() * row_bytes(); }  // one of K / V
  constexpr int smem_bytes() const { return q_bytes() + 2 * 2 * stage_bytes(); }
  // after the loop the stages hold the warps' states: o [warps][rows][hd], m and l [warps][rows]
  constexpr int merge_bytes() const { return kDecodeWarps * kDecodeRows * (hd + 2) * 4; }
};
constexpr DecodeConfig kDec32{32, 32}, kDec64{64, 32}, kDec128{128, 16}, kDec256{256, 8};
// The decode config of a padded head dim.
constexpr DecodeConfig decode_config(int hd) { return hd == 32 ? kDec32 : hd == 64 ? kDec64 : hd == 128 ? kDec128 : kDec256; }

// ---- simt: attn_simt (exact fp32, every device, any head dims) --------------------------------------
// One warp per query row, 4 warps per CTA: shared memory holds each warp's q and o rows, 4 x (D + Dv)
// floats, so D + Dv may reach the opt-in limit / 16 bytes (the register budget is at attn_simt).
constexpr int kSimtWarps = 4;

// ---- split-KV (flash-decoding) ----------------------------------------------------------------------
// When the row tiles cannot fill the SMs, the key tiles are split across the grid's y dimension
// (each split writes a normalized partial and its LSE; attn_merge combines them in split order).
//   sm80:   about 2 CTAs per SM (two 80 KiB CTAs fit an sm_80 / sm_90 SM), only when ctas < SMs;
//   sm90:   1 CTA per SM (112-160 KiB of shared memory each), only when ctas < SMs;
//   decode: about 4 CTAs per SM always (memory bound: more KV reads in flight).
constexpr int kSm80SplitCtasPerSm = 2;
constexpr int kSm90SplitCtasPerSm = 1;
constexpr int kDecodeSplitCtasPerSm = 4;
constexpr int kSplitMinKeyTiles = 2;                          // key tiles per split at least: a split's copy pipeline has a tile to overlap
constexpr int kSplitMax = 128;                                // bounds attn_merge's walk over every split per output element
constexpr int64_t kSplitWorkspaceBytes = int64_t(256) << 20;  // the fp32 partials + LSEs of all splits
// attn_merge: a grid-stride loop of 256-thread blocks, at most 8 per SM: enough blocks to fill the GPU,
// no more (as the GEMM's split-K reduction and the block ops' element-wise grids).
constexpr int kMergeThreads = 256;
constexpr int kMergeBlocksPerSm = 8;

}  // namespace tk::attention_cuda_configs
