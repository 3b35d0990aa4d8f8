// The ISA-neutral CPU attention driver: picks the kernel table for the CPU, cuts the work into tiles
// of (batch, kv head, row tile) that the pool's threads take dynamically, clips each tile's key range
// to what its rows can see (causal tiles above the diagonal and padding keys are never visited),
// and normalizes the result. When tiles are fewer than threads and keys are many (decoding: Sq of
// 1..4 against a long KV cache), the key range is split across threads and the partial softmax
// states are merged (flash-decoding).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <cmath>
#include <limits>
#include <vector>

#include "../../core/cpu_features.h"
#include "../../core/host_pool.h"
#include "../../core/isa_table.h"
#include "../../core/half.h"
#include "../../core/scratch.h"
#include "../../core/thread_pool.h"
#include "attention.h"
#include "attention_kernels.h"

#include "../../core/kernel_record.h"

namespace tk {
namespace {

using attention_kernels::Kernels;
using attention_kernels::Problem;
using attention_kernels::RowState;

// A split gets at least this many keys: below that the merge and the per-tile setup cost more than
// the parallelism wins.
constexpr int64_t kMinSplitKeys = 512;
// Above this, K / V blocks are packed per row tile instead of once for all tiles.
constexpr size_t kMaxPackedBytes = size_t(256) << 20;

// One table per choice of bfloat16 products (vdpbf16ps or widened to float32 FMAs, as
// bf16_dot_enabled() says for this core; core/cpu_features.h), so tests can run both.
template <bool kBf16Dot>
const Kernels& kernels_table(Isa isa) {
  return isa_table<Kernels, kBf16Dot>(isa, [](Isa isa, Kernels* table) {
    Kernels& k = *table;
    attention_kernels::get_kernels_scalar(&k);
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == Isa::kAvx2) attention_kernels::get_kernels_avx2(&k);
    if (isa == Isa::kAvx512) attention_kernels::get_kernels_avx512(&k, kBf16Dot);
#endif
#if defined(__aarch64__)
    if (isa == Isa::kNeon) attention_kernels::get_kernels_neon(&k);
#endif
  });
}

const Kernels& kernels_for(Isa isa) { return bf16_dot_enabled() ? kernels_table<true>(isa) : kernels_table<false>(isa); }

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Keys [0, end) hold every key rows [r0, r1) of batch b can see.
int64_t visible_end(const Problem& pr, int64_t b, int64_t r1) {
  const int64_t i_hi = (r1 - 1) / pr.group;
  return std::clamp<int64_t>(pr.last_key(b, i_hi) + 1, 0, pr.kv_len(b));
}

// out = o / l (0 for rows that saw nothing), lse = m + log l (-inf for them).
void finalize(const AttentionParams& p, const Problem& pr, int64_t b, int64_t hkv, int64_t r0, int64_t r1, const RowState& st) {
  for (int64_t ii = 0; ii < r1 - r0; ++ii) {
    const int64_t r = r0 + ii, i = r / pr.group, hq = hkv * pr.group + r % pr.group;
    const float l = st.l[ii];
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    const float* o = st.o + ii * st.ldo;
    const int64_t off = b * pr.ob + hq * pr.oh + i * pr.os;
    switch (p.out.dtype) {
      case DType::kFloat16: {
        uint16_t* dst = p.out.as<uint16_t>() + off;
        for (int64_t d = 0; d < pr.Dv; ++d) dst[d] = f32_to_f16(o[d] * inv);
        break;
      }
      case DType::kBFloat16: {
        uint16_t* dst = p.out.as<uint16_t>() + off;
        for (int64_t d = 0; d < pr.Dv; ++d) dst[d] = f32_to_bf16(o[d] * inv);
        break;
      }
      default: {
        float* dst = p.out.as<float>() + off;
        for (int64_t d = 0; d < pr.Dv; ++d) dst[d] = o[d] * inv;
      }
    }
    if (p.lse.ndim >= 0) {
      p.lse.as<float>()[(b * pr.Hq + hq) * pr.Sq + i] = l > 0.0f ? st.m[ii] + std::log(l) : -std::numeric_limits<float>::infinity();
    }
  }
}

// Dynamic scheduling: tiles differ in cost (causal), so each thread takes the next one.
Status for_each_task(int64_t n, const std::function<void(int64_t)>& fn) {
  std::atomic<int64_t> next{0};
  return parallel_run([&](int, int) {
    for (int64_t t; (t = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(t);
  });
}

}  // namespace

Problem attention_kernels::make_problem(const AttentionParams& p, const AttentionShape& s) {
  Problem pr;
  pr.q = p.q.data, pr.k = p.k.data, pr.v = p.v.data, pr.dtype = p.q.dtype;
  if (s.has_mask) {
    pr.mask = p.mask.data, pr.mask_dtype = p.mask.dtype, pr.mask_bool = s.mask_bool;
    pr.mb = s.mb, pr.mh = s.mh, pr.mi = s.mi, pr.mj = s.mj;
  }
  pr.mask_keys = s.mask_keys;
  if (p.kv_lengths.ndim >= 0) pr.kv_lengths = p.kv_lengths.as<int32_t>();
  pr.B = s.B, pr.Hq = s.Hq, pr.Hkv = s.Hkv, pr.Sq = s.Sq, pr.Sk = s.Sk, pr.D = s.D, pr.Dv = s.Dv, pr.group = s.group;
  pr.qb = s.qb, pr.qh = s.qh, pr.qs = s.qs, pr.kb = s.kb, pr.kh = s.kh, pr.ks = s.ks;
  pr.vb = s.vb, pr.vh = s.vh, pr.vs = s.vs, pr.ob = s.ob, pr.oh = s.oh, pr.os = s.os;
  pr.causal = p.causal, pr.scale = p.scale, pr.softcap = p.softcap;
  pr.has_causal_offset = p.has_causal_offset, pr.causal_offset = p.causal_offset;
  return pr;
}

namespace {
CpuKernelRecord g_ran;                   // what attention_cpu last ran
std::atomic<bool> g_decode_route{true};  // the test hook: false keeps decode shapes on the tile kernel
}  // namespace
const char* attention_cpu_last_kernel() { return g_ran.get(); }

bool attention_cpu_set_decode(bool on) {
  g_decode_route.store(on, std::memory_order_relaxed);
  return true;
}

Status attention_cpu(const AttentionParams& p, const AttentionShape& s) {
  if (s.B * s.Hq * s.Sq == 0 || s.Hkv == 0) return Status::Ok();
  int64_t keys = s.Sk;  // the most keys any row can see (a decode step over a long cache sees few)
  if (p.kv_lengths.ndim >= 0) {
    keys = 0;
    for (int64_t b = 0; b < s.B; ++b) keys = std::max<int64_t>(keys, p.kv_lengths.as<int32_t>()[b]);
  }
  SerialScope serial(2.0 * double(s.B * s.Hq * s.Sq) * double(keys) * double(s.D + s.Dv) < kSerialWork);
  const Kernels& K = kernels_for(active_isa());
  const Problem pr = attention_kernels::make_problem(p, s);
  const int64_t rows = s.group * s.Sq;
  // Decoding (a few rows per kv head, no mask or softcap): the kernel that streams K and V in place.
  const bool decode = rows <= K.decode_rows && pr.mask == nullptr && pr.softcap == 0.0f && g_decode_route.load(std::memory_order_relaxed);
  const auto run = decode ? K.decode : K.run;
  g_ran.set(decode ? "decode: K / V streamed in place, no packing" : K.name);
  const int64_t QB = decode ? K.decode_rows : K.row_tile, nblk = ceil_div(rows, QB);
  const int64_t bh = s.B * s.Hkv, items = bh * nblk, ldo = K.ldo(s.Dv);
  const int64_t state_floats = QB * ldo + 2 * QB;
  // Consecutive tasks are the row tiles of one (batch, kv head), so the threads working side by side
  // read the same K / V (from L2 / L3, once: 30% faster at S = 2048 than visiting the heads in turn),
  // in order of decreasing row index: under causal masking the last rows see the most keys, and the
  // cheap tiles come last, which evens out the end of the parallel region.
  auto item_at = [&](int64_t t, int64_t* b, int64_t* hkv, int64_t* r0, int64_t* r1) {
    const int64_t blk = nblk - 1 - t % nblk, x = t / nblk;
    *b = x / s.Hkv, *hkv = x % s.Hkv, *r0 = blk * QB, *r1 = std::min(rows, *r0 + QB);
  };
  auto state_at = [&](float* base) { return RowState{base, ldo, base + QB * ldo, base + QB * ldo + QB}; };

  const int nt = num_threads();
  int64_t nsplit = 1;
  if (items < 2 * nt && s.Sk >= 2 * kMinSplitKeys) nsplit = std::min(ceil_div(4 * nt, items), s.Sk / kMinSplitKeys);
  if (nsplit == 1) {
    // Several row tiles per (batch, kv head): pack each K / V block once, in parallel, for all of them
    // (O(Sk * D) memory, about twice K's size in float32) instead of once per tile.
    const int64_t nkb = ceil_div(s.Sk, K.key_tile), bw = K.block_words(p.q.dtype, s.D, ldo);  // ldo: V's padded Dv
    const size_t packed_bytes = size_t(bh) * size_t(nkb) * size_t(bw) * 4;
    // The buffer comes from the warm host pool (native/core/host_pool.h): a fresh allocation of that
    // size would be mmap'd and faulted in page by page on every call (keeping memory made H = 16,
    // S = 512 15-20% faster), and the pool shares it between the threads that call ops.
    PooledBuffer packed_buf;
    uint32_t* packed = nullptr;
    if (nblk >= 2 && packed_bytes <= kMaxPackedBytes) {
      packed_buf = PooledBuffer(packed_bytes);
      packed = packed_buf.as<uint32_t>();
      TK_RETURN_IF_ERROR(for_each_task(bh * nkb, [&](int64_t t) {
        const int64_t x = t / nkb, jb = (t % nkb) * K.key_tile, b = x / s.Hkv;
        if (jb < pr.kv_len(b)) K.prepack(pr, b, x % s.Hkv, jb, ldo, packed + t * bw);
      }));
    }
    return for_each_task(items, [&](int64_t t) {
      int64_t b, hkv, r0, r1;
      item_at(t, &b, &hkv, &r0, &r1);
      const RowState st = state_at(static_cast<float*>(thread_scratch(ScratchSlot::kWork, sizeof(float) * state_floats)));
      const uint32_t* pk = packed ? packed + (b * s.Hkv + hkv) * nkb * bw : nullptr;
      run(pr, b, hkv, r0, r1, 0, visible_end(pr, b, r1), st, pk);
      finalize(p, pr, b, hkv, r0, r1, st);
    });
  }

  // Flash-decoding: tile t's key range in nsplit parts, each its own (o, m, l), then a merge.
  PooledBuffer partial_buf(size_t(items * nsplit * state_floats) * sizeof(float));
  float* const partial = partial_buf.as<float>();
  TK_RETURN_IF_ERROR(for_each_task(items * nsplit, [&](int64_t task) {
    const int64_t t = task / nsplit, sp = task % nsplit;
    int64_t b, hkv, r0, r1;
    item_at(t, &b, &hkv, &r0, &r1);
    const int64_t end = visible_end(pr, b, r1);
    const int64_t chunk = ceil_div(ceil_div(end, nsplit), K.key_tile) * K.key_tile;
    const int64_t j0 = std::min(end, sp * chunk), j1 = std::min(end, j0 + chunk);
    run(pr, b, hkv, r0, r1, j0, j1, state_at(partial + task * state_floats), nullptr);
  }));
  return for_each_task(items, [&](int64_t t) {
    int64_t b, hkv, r0, r1;
    item_at(t, &b, &hkv, &r0, &r1);
    const RowState acc = state_at(partial + t * nsplit * state_floats);  // split 0 accumulates the rest
    for (int64_t ii = 0; ii < r1 - r0; ++ii) {
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t sp = 0; sp < nsplit; ++sp) mx = std::max(mx, state_at(partial + (t * nsplit + sp) * state_floats).m[ii]);
      float l = 0.0f;
      float* o = acc.o + ii * ldo;
      for (int64_t sp = 0; sp < nsplit; ++sp) {
        const RowState x = state_at(partial + (t * nsplit + sp) * state_floats);
        const float w = (x.m[ii] == -std::numeric_limits<float>::infinity() || x.l[ii] == 0.0f) ? 0.0f : std::exp(x.m[ii] - mx);
        l += w * x.l[ii];
        const float* xo = x.o + ii * ldo;
        for (int64_t d = 0; d < s.Dv; ++d) o[d] = (sp == 0 ? 0.0f : o[d]) + w * xo[d];
      }
      acc.m[ii] = mx, acc.l[ii] = l;
    }
    finalize(p, pr, b, hkv, r0, r1, acc);
  });
}

}  // namespace tk
