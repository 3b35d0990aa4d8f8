// The CPU attention kernel interface: what each ISA translation unit (attention_cpu_<isa>.cc)
// provides to the ISA-neutral driver (attention_cpu.cc). A kernel call handles one tile of query rows
// of one (batch, kv head) against a range of keys and leaves the unnormalized output, the running
// max and the running sum (the online softmax state); the driver normalizes, or merges the partial
// states of a split key range (flash-decoding).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "../../core/dtype.h"

namespace tk {
struct AttentionParams;
struct AttentionShape;
}  // namespace tk

namespace tk::attention_kernels {

// Rows of a (batch, kv head): the Hq / Hkv query heads that share the kv head are processed together,
// so K and V are loaded once for the whole GQA group. Row r is query i = r / group of query head
// hkv * group + r % group (query-major, so a tile's rows span few query positions and causal tiles
// stay tight).
struct Problem {
  const void *q, *k, *v;
  DType dtype;                 // of q, k, v
  const void* mask = nullptr;  // null when absent
  DType mask_dtype = DType::kFloat32;
  bool mask_bool = false;
  int64_t mb = 0, mh = 0, mi = 0, mj = 0;  // mask element strides (0 = broadcast)
  const int32_t* kv_lengths = nullptr;     // null when absent
  int64_t mask_keys = 0;                   // keys past the mask's last dim are hidden
  int64_t B = 0, Hq = 0, Hkv = 0, Sq = 0, Sk = 0, D = 0, Dv = 0, group = 1;
  // element strides of q, k, v and out; the head dim is contiguous
  int64_t qb = 0, qh = 0, qs = 0, kb = 0, kh = 0, ks = 0, vb = 0, vh = 0, vs = 0, ob = 0, oh = 0, os = 0;
  bool causal = false;
  bool has_causal_offset = false;  // else L_b - Sq (bottom-right)
  int64_t causal_offset = 0;
  float scale = 1.0f, softcap = 0.0f;

  int64_t kv_len(int64_t b) const { return kv_lengths ? kv_lengths[b] : Sk; }
  // The last key query i may see by the length, mask-length and causal rules (may be < 0: none).
  int64_t last_key(int64_t b, int64_t i) const {
    const int64_t L = kv_len(b);
    const int64_t end = std::min(L, mask_keys) - 1;
    return causal ? std::min(end, i + (has_causal_offset ? causal_offset : L - Sq)) : end;
  }
};

// Per-row online-softmax state and output accumulator the kernel fills: o is rows x ldo floats
// (unnormalized sum of p_j * v_j), m the running max of the (scaled, capped, masked) scores, l the
// running sum of exp(s - m).
struct RowState {
  float* o;
  int64_t ldo;
  float* m;
  float* l;
};

struct Kernels {
  const char* name = nullptr;  // e.g. "avx2 f32 6x16 flash"
  int row_tile = 0;            // rows per call at most
  int key_tile = 0;            // keys per inner block
  // o's row stride for head dim D (a multiple of the vector width).
  int64_t (*ldo)(int64_t D) = nullptr;
  // Rows [r0, r1) (r1 - r0 <= row_tile) of (b, hkv) against keys [j0, j1), which the driver has
  // already clipped to the keys any of these rows can see (j0 a multiple of key_tile). Starts the
  // state fresh. `packed`: null, or the key blocks of (b, hkv) pre-packed by `prepack` (block i at
  // i * block_words), shared by all the row tiles of that head.
  void (*run)(const Problem& p, int64_t b, int64_t hkv, int64_t r0, int64_t r1, int64_t j0, int64_t j1, const RowState& st,
              const void* packed) = nullptr;
  // Decoding (attention_decode_impl.h): the same contract as run for at most decode_rows rows, on a call
  // without a mask or softcap; reads K and V in place (no packing; `packed` is ignored).
  int decode_rows = 0;
  void (*decode)(const Problem& p, int64_t b, int64_t hkv, int64_t r0, int64_t r1, int64_t j0, int64_t j1, const RowState& st,
                 const void* packed) = nullptr;
  // 32-bit words of one pre-packed key block (K then V), and the packing of block [jb, jb + key_tile).
  int64_t (*block_words)(DType dtype, int64_t D, int64_t ldo) = nullptr;
  void (*prepack)(const Problem& p, int64_t b, int64_t hkv, int64_t jb, int64_t ldo, void* dst) = nullptr;
};

// The kernels' view of a validated call (attention_cpu.cc); also the visibility rule (last_key) of the
// score-matrix slow path (attention_qk.cc).
Problem make_problem(const AttentionParams& p, const AttentionShape& s);

void get_kernels_scalar(Kernels* k);
void get_kernels_avx2(Kernels* k);
void get_kernels_avx512(Kernels* k, bool has_bf16);
void get_kernels_neon(Kernels* k);

}  // namespace tk::attention_kernels
