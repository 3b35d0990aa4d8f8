// Host checks of the sm_90a attention kernel's index math (attention_cuda_layout.h, "sm_90a kernel";
// attention_kernel_sm90.cuh), for machines without an H100:
//   - the wgmma register fragments: the fp32 accumulator of m64nNk16 and the register A operand,
//     against the PTX ISA element formulas written out here independently (the m16n8k16 A layout
//     of gemm_cuda_checks::ptx_a, one 16-row slab per warp); the reuse of the S accumulators as the
//     P operand (sm90_p_acc); every output row / column owned exactly once by the two consumers;
//   - the shared memory: the TMA 128B-swizzled tiles (Q, K and V of every stage) are bijective and
//     disjoint, 1024-byte aligned, fit the opt-in limit; the wgmma descriptors (start / LBO / SBO,
//     encoded and decoded) read, through the PTX ISA canonical K-major and MN-major 128B-swizzle
//     layouts, exactly the element the math wants from where TMA wrote it;
//   - the mbarrier pipeline: a host simulation of the producer, both consumers and the TMA engine
//     under random schedules (mbarrier phases and parity waits as the ISA describes them), over
//     random problems (causal early exits, empty tiles, KV splits, 2 and 3 stages): never
//     deadlocks, never overwrites a stage a consumer has not released, never lets a consumer read a
//     stage before its tile landed, and every consumer sees every tile in order;
//   - a host emulation of the whole kernel (every CTA, both consumer warp groups thread by thread:
//     wgmma by the element formulas from the emulated shared memory, the online softmax with the
//     quad shuffles, P rounding, the epilogue and the split merge) against the float64 reference.
// The wgmma / TMA address models are this file's reading of the PTX ISA: they check the kernel's
// index math against the ISA as documented, not against the hardware.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../ops/attention/attention_cuda_layout.h"
#include "attention_cuda_checks.h"
#include "gemm_cuda_checks.h"

namespace attention_sm90_checks {

using gemm_cuda_checks::Ctx;
using tk::cugemm::RowCol;
namespace A = tk::cuattn;
namespace G = tk::cugemm;
using attention_cuda_checks::dec16;
using attention_cuda_checks::EmuOut;
using attention_cuda_checks::enc16;
using attention_cuda_checks::Problem;

// PTX ISA, wgmma .m64nNk16 D fragment (Figure "WGMMA .m64nNk16 register fragment layout for
// accumulator matrix D"): thread T, element i: row = 16 (T / 32) + (T % 32) / 4 + 8 ((i % 4) / 2),
// column = 2 (T % 4) + (i % 2) + 8 (i / 4).
inline RowCol isa_wgmma_d(int T, int i) { return {16 * (T / 32) + (T % 32) / 4 + 8 * ((i % 4) / 2), 2 * (T % 4) + (i % 2) + 8 * (i / 4)}; }
// A in registers: warp w holds rows 16w .. 16w + 15 in the layout of mma.m16n8k16's A (element e of
// the 8 halves a0..a7).
inline RowCol isa_wgmma_a(int T, int e) {
  const RowCol p = gemm_cuda_checks::ptx_a(2, T % 32, e);
  return {16 * (T / 32) + p.row, p.col};
}

inline void check_fragments(Ctx& c) {
  bool agree = true, once = true;
  for (int N : {64, 128}) {
    std::vector<int> cover(64 * N, 0);
    for (int T = 0; T < 128; ++T)
      for (int i = 0; i < N / 2; ++i) {
        const RowCol e = isa_wgmma_d(T, i), f = G::wgmma_frag_d(T, i);
        agree = agree && e.row == f.row && e.col == f.col;
        cover[e.row * N + e.col]++;
      }
    for (int v : cover) once = once && v == 1;
  }
  c.expect(agree && once, "attention sm90: wgmma m64n64 / m64n128 accumulator fragments match the ISA and cover the tile once");

  bool a_ok = true;
  std::vector<int> acover(64 * 16, 0);
  for (int T = 0; T < 128; ++T)
    for (int r = 0; r < 4; ++r)
      for (int e = 0; e < 2; ++e) {
        const RowCol want = isa_wgmma_a(T, 2 * r + e), f = A::wgmma_frag_a_reg(T, r);
        a_ok = a_ok && want.row == f.row && want.col == f.col + e;
        acover[want.row * 16 + want.col]++;
      }
  for (int v : acover) a_ok = a_ok && v == 1;
  c.expect(a_ok, "attention sm90: register A operand layout (wgmma_frag_a_reg) matches the ISA and covers 64x16 once");

  bool p_ok = true;
  for (int T = 0; T < 128; ++T)
    for (int kk = 0; kk < 8; ++kk)
      for (int r = 0; r < 4; ++r)
        for (int e = 0; e < 2; ++e) {
          const RowCol s = isa_wgmma_d(T, A::sm90_p_acc(kk, r) + e);  // the S element packed
          const RowCol a = isa_wgmma_a(T, 2 * r + e);                 // the P element the wgmma reads there
          p_ok = p_ok && s.row == a.row && s.col == 16 * kk + a.col;
        }
  c.expect(p_ok, "attention sm90: P registers are the S accumulators of the same (row, key) -- no exchange between threads");

  // Output ownership: consumer c (0, 1), thread T, element i -> tile row 64c + row, and the
  // kernel's row_lo / row_hi choice h = (i >> 1) & 1 agrees with the fragment row.
  for (int hd : {64, 128}) {
    std::vector<int> cov(128 * hd, 0);
    bool rows_ok = true;
    for (int cs = 0; cs < A::kSm90Consumers; ++cs)
      for (int T = 0; T < 128; ++T)
        for (int i = 0; i < hd / 2; ++i) {
          const RowCol f = G::wgmma_frag_d(T, i);
          const int h = (i >> 1) & 1;
          rows_ok = rows_ok && f.row == 16 * (T >> 5) + ((T & 31) >> 2) + 8 * h && f.col == 8 * (i >> 2) + 2 * (T & 3) + (i & 1);
          cov[(64 * cs + f.row) * hd + f.col]++;
        }
    bool o1 = true;
    for (int v : cov) o1 = o1 && v == 1;
    c.expect(rows_ok && o1, "attention sm90 hd" + std::to_string(hd) + ": every output element of the 128-row tile owned exactly once");
  }
}

// ---- shared memory: TMA placement and wgmma descriptors --------------------------------------------
struct Desc {
  uint32_t start, lbo, sbo, mode;
};
inline Desc decode_desc(uint64_t d) {
  return {uint32_t(d & 0x3FFF) << 4, uint32_t((d >> 16) & 0x3FFF) << 4, uint32_t((d >> 32) & 0x3FFF) << 4, uint32_t(d >> 62)};
}

inline void check_smem(Ctx& c) {
  for (const A::Sm90Config& cfg : {A::kSm90Cfg64, A::kSm90Cfg128}) {
    const std::string n = "attention sm90 hd" + std::to_string(cfg.hd) + ": ";
    const uint32_t base = 0x400;  // any 1024-aligned shared-memory base
    c.expect(cfg.smem_bytes() <= 227 * 1024, n + "shared memory fits the sm_90 opt-in limit (227 KiB)");
    bool aligned = cfg.q_bytes() % 1024 == 0 && cfg.kv_bytes() % 1024 == 0 && cfg.bar_offset() % 8 == 0;
    for (int s = 0; s < cfg.stages; ++s) aligned = aligned && cfg.k_offset(s) % 1024 == 0 && cfg.v_offset(s) % 1024 == 0;
    for (int p = 0; p < cfg.panels(); ++p) aligned = aligned && (p * cfg.bm * 128) % 1024 == 0 && (p * cfg.bn * 128) % 1024 == 0;
    c.expect(aligned, n + "tile, panel and stage bases 1024-byte aligned (128B swizzle pattern), barriers 8-byte aligned");

    // TMA placement: every tile bijective onto its own byte range, tiles disjoint.
    std::vector<int> owner(cfg.bar_offset(), 0);
    bool bij = true;
    auto place = [&](uint32_t off, int rows) {
      for (int r = 0; r < rows; ++r)
        for (int e = 0; e < cfg.hd; ++e) {
          const uint32_t a = A::sm90_tile_addr(base + off, rows, r, e) - base;
          bij = bij && a % 2 == 0 && a >= off && a + 2 <= off + uint32_t(rows) * cfg.hd * 2;
          if (a + 1 < owner.size()) owner[a]++, owner[a + 1]++;
        }
    };
    place(0, cfg.bm);
    for (int s = 0; s < cfg.stages; ++s) place(cfg.k_offset(s), cfg.bn), place(cfg.v_offset(s), cfg.bn);
    for (int v : owner) bij = bij && v == 1;
    c.expect(bij, n + "TMA 128B-swizzled Q / K / V tiles are bijective and disjoint and fill the tile area");
    // TMA's 128B swizzle equals the GEMM's checked sm90_offset_128b inside each panel.
    bool same = true;
    for (int r = 0; r < cfg.bn; ++r)
      for (int e = 0; e < cfg.hd; ++e)
        same = same &&
               A::sm90_tile_addr(base, cfg.bn, r, e) - base == uint32_t((e / 64) * cfg.bn * 128 + G::sm90_offset_128b(r, (e % 64) * 2));
    c.expect(same, n + "the address-based 128B swizzle equals cugemm::sm90_offset_128b per panel");

    // wgmma reads. Q (A operand of S = Q K^T, K-major): consumer cs, k step kk, element (m, k).
    bool q_ok = true, k_ok = true, v_ok = true, enc_ok = true;
    for (int cs = 0; cs < 2; ++cs)
      for (int kk = 0; kk < cfg.hd / 16; ++kk) {
        const uint64_t dq = G::wgmma_desc(base + A::sm90_q_desc_off(cfg, cs, kk), 16, A::kSm90Sbo, 1);
        const Desc d = decode_desc(dq);
        enc_ok = enc_ok && d.start == base + A::sm90_q_desc_off(cfg, cs, kk) && d.sbo == A::kSm90Sbo && d.mode == 1;
        for (int m = 0; m < 64; ++m)
          for (int k = 0; k < 16; ++k)
            q_ok = q_ok && A::wgmma_kmajor_sw128(d.start, d.sbo, m, k) == A::sm90_tile_addr(base, cfg.bm, 64 * cs + m, 16 * kk + k);
      }
    for (int s = 0; s < cfg.stages; ++s) {
      for (int kk = 0; kk < cfg.hd / 16; ++kk) {  // K (B operand, K-major): element (key n, k)
        const Desc d = decode_desc(G::wgmma_desc(base + cfg.k_offset(s) + A::sm90_k_desc_off(cfg, kk), 16, A::kSm90Sbo, 1));
        enc_ok = enc_ok && d.start == base + cfg.k_offset(s) + A::sm90_k_desc_off(cfg, kk);
        for (int nn = 0; nn < cfg.bn; ++nn)
          for (int k = 0; k < 16; ++k)
            k_ok =
                k_ok && A::wgmma_kmajor_sw128(d.start, d.sbo, nn, k) == A::sm90_tile_addr(base + cfg.k_offset(s), cfg.bn, nn, 16 * kk + k);
      }
      for (int kk = 0; kk < cfg.bn / 16; ++kk) {  // V (B operand of P V, N-major): element (head-dim n, key k)
        const Desc d = decode_desc(G::wgmma_desc(base + cfg.v_offset(s) + A::sm90_v_desc_off(cfg, kk), A::sm90_v_lbo(cfg), A::kSm90Sbo, 1));
        enc_ok = enc_ok && d.start == base + cfg.v_offset(s) + A::sm90_v_desc_off(cfg, kk) && d.lbo == A::sm90_v_lbo(cfg) &&
                 d.sbo == A::kSm90Sbo;
        for (int nn = 0; nn < cfg.hd; ++nn)
          for (int k = 0; k < 16; ++k)
            v_ok = v_ok && A::wgmma_mnmajor_sw128(d.start, d.lbo, d.sbo, nn, k) ==
                               A::sm90_tile_addr(base + cfg.v_offset(s), cfg.bn, 16 * kk + k, nn);
      }
    }
    c.expect(enc_ok, n + "descriptor fields encode and decode back (start, LBO, SBO within 14 bits, 128B mode)");
    c.expect(q_ok, n + "wgmma K-major reads of Q (both consumers, every k step) hit the elements TMA wrote");
    c.expect(k_ok, n + "wgmma K-major reads of K (every stage, k step) hit the elements TMA wrote");
    c.expect(v_ok, n + "wgmma N-major (trans-b) reads of V (every stage, key step) hit the elements TMA wrote");
  }
  // TMA boxes: inner extent 64 elements = 128 bytes (the 128B swizzle span), every box dim <= 256, and
  // the Q box {64, group, 128 / group} is the 128 packed rows of a row tile in order.
  bool box_ok = true;
  for (int g = 1; g <= 128; g *= 2) {
    box_ok = box_ok && g <= 256 && 128 / g <= 256 && g * (128 / g) == 128;
    for (int rr = 0; rr < 128; ++rr) {  // smem row rr of the box = (query i0 + rr / g, head rr % g) = packed row r0 + rr
      const int64_t r0 = 128 * 3;
      const A::RowMap m = A::row_to_query(r0 + rr, 2, g);
      box_ok = box_ok && m.i == r0 / g + rr / g && m.h == 2 * g + rr % g;
    }
  }
  c.expect(box_ok, "attention sm90: TMA boxes (inner 128 bytes, dims <= 256; the Q box is the row tile's packed rows in order)");
}

// ---- pipeline simulation -------------------------------------------------------------------------
// mbarrier per the ISA: `pending` arrivals left in the current phase, `tx` transaction bytes pending;
// the phase completes when both reach 0 (then the count is re-armed). try_wait.parity(p) succeeds
// iff the current phase's parity differs from p (the phase with parity p has completed).
struct Bar {
  int count = 0, pending = 0;
  int64_t tx = 0;
  int64_t phase = 0;  // completed phases
  void init(int n) { count = pending = n, tx = 0, phase = 0; }
  void maybe_complete() {
    if (pending == 0 && tx == 0) ++phase, pending = count;
  }
  void arrive(int n = 1) { pending -= n, maybe_complete(); }
  void expect_tx(int64_t bytes) { tx += bytes, pending -= 1, maybe_complete(); }
  void complete_tx(int64_t bytes) { tx -= bytes, maybe_complete(); }
  bool passed(uint32_t parity) const { return uint32_t(phase & 1) != parity; }
};

struct PipeResult {
  bool ok = true;
  std::string why;
};

// One CTA with n tiles, `stages` stages; consumer cs skips the math on tiles >= skip_from[cs]
// (causal early exit: it still waits and arrives). The schedule is random.
// pad_tile: the tile (relative index, -1: none) at which both consumers meet at the named barrier
// (kvLengths padding zeroed) before either goes on.
inline PipeResult simulate_pipeline(int64_t n, int stages, const int64_t (&skip_from)[2], std::mt19937& rng, int mode,
                                    int64_t pad_tile = -1) {
  PipeResult res;
  std::vector<Bar> full(stages), empty(stages);
  Bar qbar;
  for (int s = 0; s < stages; ++s) full[s].init(1), empty[s].init(A::kSm90Consumers * 128);
  qbar.init(1);
  std::vector<int64_t> content(stages, -1);  // tile a stage holds (or is being filled with)
  std::vector<int> readers(stages, 0);       // consumers yet to release the stage's content
  std::vector<bool> landed(stages, false);
  struct Tx {
    int stage;  // -1: the Q load
    int64_t bytes;
  };
  std::vector<Tx> inflight;
  // producer: step 0 = arm q + load; then per tile: wait empty, expect_tx, load.
  int64_t p_it = 0;
  bool p_q = false;
  int64_t c_it[2] = {0, 0};
  bool c_q[2] = {false, false};
  int c_state[2] = {0, 0};  // 0: waiting full, 1: computing (then arrive)
  const int64_t kv_bytes = 2, q_bytes = 1;
  for (int step = 0; step < 100000; ++step) {
    std::vector<int> ready;  // 0 producer, 1 / 2 consumers, 3 TMA completion
    if (!p_q || (p_it < n && empty[A::sm90_stage(p_it, stages)].passed(A::sm90_empty_parity(p_it, stages)))) ready.push_back(0);
    for (int cs = 0; cs < 2; ++cs) {
      if (!c_q[cs]) {
        if (qbar.passed(0)) ready.push_back(1 + cs);  // the kernel waits parity 0: passes once phase 0 completed
        continue;
      }
      if (c_it[cs] >= n) continue;
      const int s = A::sm90_stage(c_it[cs], stages);
      const bool at_pad =
          c_state[cs] == 1 && c_it[cs] == pad_tile && !(c_it[1 - cs] > pad_tile || (c_it[1 - cs] == pad_tile && c_state[1 - cs] == 1));
      if ((c_state[cs] == 1 && !at_pad) || (c_state[cs] == 0 && full[s].passed(A::sm90_full_parity(c_it[cs], stages))))
        ready.push_back(1 + cs);
    }
    if (!inflight.empty()) ready.push_back(3);
    const bool done = p_q && p_it == n && c_it[0] == n && c_it[1] == n && c_q[0] && c_q[1] && inflight.empty();
    if (done) return res;
    if (ready.empty()) {
      res.ok = false, res.why = "deadlock at producer tile " + std::to_string(p_it) + ", consumers " + std::to_string(c_it[0]) + " / " +
                                std::to_string(c_it[1]);
      return res;
    }
    const int who = ready[rng() % ready.size()];
    if (who == 0) {
      if (!p_q) {
        qbar.expect_tx(q_bytes), inflight.push_back({-1, q_bytes}), p_q = true;
      } else {
        const int s = A::sm90_stage(p_it, stages);
        if (readers[s] != 0) {
          res.ok = false,
          res.why = "producer overwrites stage " + std::to_string(s) + " (tile " + std::to_string(content[s]) + ") before it is released";
          return res;
        }
        content[s] = p_it, readers[s] = 2, landed[s] = false;
        full[s].expect_tx(kv_bytes);
        inflight.push_back({s, kv_bytes / 2}), inflight.push_back({s, kv_bytes / 2});  // K and V
        ++p_it;
      }
    } else if (who == 3) {
      const size_t k = rng() % inflight.size();
      const Tx t = inflight[k];
      inflight.erase(inflight.begin() + long(k));
      if (t.stage < 0) {
        qbar.complete_tx(t.bytes);
      } else {
        bool last = true;
        for (const Tx& o : inflight) last = last && o.stage != t.stage;
        if (last) landed[t.stage] = true;
        full[t.stage].complete_tx(t.bytes);
      }
    } else {
      const int cs = who - 1;
      if (!c_q[cs]) {
        c_q[cs] = true;
        continue;
      }
      const int s = A::sm90_stage(c_it[cs], stages);
      if (c_state[cs] == 0) {
        if (content[s] != c_it[cs] || !landed[s]) {
          res.ok = false, res.why = "consumer " + std::to_string(cs) + " passes full[" + std::to_string(s) + "] for tile " +
                                    std::to_string(c_it[cs]) + " but the stage holds tile " + std::to_string(content[s]) +
                                    (landed[s] ? "" : " (not landed)");
          return res;
        }
        // computing, or (tiles >= skip_from: causal early exit) skipping the math: either way the
        // stage is released by a later step of this consumer, in any order with the others
        c_state[cs] = 1;
        if (c_it[cs] >= skip_from[cs] && rng() % 2) continue;
      } else {
        // done with the stage: 128 arrivals of the warp group
        if (mode == 1 && cs == 1 && c_it[cs] % 3 == 2)
          empty[s].arrive(127);  // a deliberately lost arrival (self-test of the simulator)
        else
          empty[s].arrive(128);
        readers[s]--;
        c_state[cs] = 0;
        ++c_it[cs];
      }
    }
  }
  res.ok = false, res.why = "did not finish";
  return res;
}

inline void check_pipeline(Ctx& c, std::mt19937& rng) {
  int runs = 0;
  PipeResult bad;
  std::uniform_int_distribution<int> sq(1, 700), grp(0, 3);
  for (int trial = 0; trial < 400 && bad.ok; ++trial) {
    // A random problem and CTA: the tile range and the consumers' early exits the kernel computes.
    const int64_t group = int64_t(1) << grp(rng), Sq = sq(rng), Sk = 1 + rng() % 1500;
    const bool causal = rng() % 2;
    const int64_t L = rng() % 4 == 0 ? int64_t(rng() % (Sk + 1)) : Sk;
    const int splits = 1 + int(rng() % 4);
    const A::Sm90Config cfg = A::sm90_config(rng() % 2 ? 64 : 128);
    const int64_t rows_total = Sq * group, row_tiles = (rows_total + cfg.bm - 1) / cfg.bm;
    const int64_t tile = rng() % row_tiles, r0 = tile * cfg.bm;
    const int64_t key_end = A::tile_key_end(r0, std::min(r0 + cfg.bm, rows_total), group, Sq, L - Sq, L, causal);
    const int64_t n_tiles = (key_end + cfg.bn - 1) / cfg.bn, tps = A::split_tiles_per(n_tiles, splits);
    const int split = int(rng() % splits);
    const int64_t t_begin = std::min<int64_t>(split * tps, n_tiles), t_end = std::min<int64_t>(t_begin + tps, n_tiles);
    int64_t skip[2];
    for (int cs = 0; cs < 2; ++cs) {
      const int64_t rb = r0 + 64 * cs;
      const int64_t wend = rb < rows_total ? A::tile_key_end(rb, std::min(rb + 64, rows_total), group, Sq, L - Sq, L, causal) : 0;
      // consumer skips tile kt when kt * bn >= wend: relative index from t_begin
      int64_t first_skip = t_end - t_begin;
      for (int64_t kt = t_begin; kt < t_end; ++kt)
        if (kt * cfg.bn >= wend) {
          first_skip = kt - t_begin;
          break;
        }
      skip[cs] = first_skip;
    }
    int64_t pad = -1;  // the tile whose V padding rows both consumers zero (named barrier)
    for (int64_t kt = t_begin; kt < t_end; ++kt) {
      const A::RowRange pr = A::sm90_v_pad_rows(kt * cfg.bn, cfg.bn, L, Sk);
      if (pr.end > pr.first) pad = kt - t_begin;
    }
    for (int rep = 0; rep < 3 && bad.ok; ++rep, ++runs) {
      PipeResult r = simulate_pipeline(t_end - t_begin, cfg.stages, skip, rng, 0, pad);
      if (!r.ok) bad = r, bad.why += " (n=" + std::to_string(t_end - t_begin) + ", stages=" + std::to_string(cfg.stages) + ")";
    }
  }
  // long runs: many phase wraps of every stage
  for (int stages : {2, 3, 4})
    for (int rep = 0; rep < 20 && bad.ok; ++rep, ++runs) {
      const int64_t skip[2] = {int64_t(rng() % 300), 300};
      PipeResult r = simulate_pipeline(300, stages, skip, rng, 0, int64_t(rng() % 300));
      if (!r.ok) bad = r;
    }
  c.expect(bad.ok, "attention sm90 pipeline: " + std::to_string(runs) + " random schedules, no deadlock / early overwrite / early read" +
                       (bad.ok ? "" : ": " + bad.why));
  // The simulator itself catches a lost arrival (as a deadlock).
  const int64_t skip[2] = {100, 100};
  c.expect(!simulate_pipeline(30, 2, skip, rng, 1).ok, "attention sm90 pipeline: the simulator reports a lost empty-barrier arrival");
}

// ---- host emulation of attn_fwd_sm90 ---------------------------------------------------------------
inline float rnd16(float x, bool bf16) { return attention_cuda_checks::rnd16(x, bf16); }

// TMA load of one box as the driver / PTX describe it: the box's elements in box order (dim 0
// fastest) fill consecutive 2-byte slots from dst, the 128-byte rows swizzled by address (128B mode);
// a coordinate past its dimension reads as zero. g: the tensor's 16-bit encodings, element offsets =
// byte offsets / 2.
inline void tma_load(std::vector<uint8_t>& smem, uint32_t dst, const A::TmaMap& m, const A::TmaCoord& co, const std::vector<uint16_t>& g) {
  int64_t n = 1;
  for (int i = 0; i < m.rank; ++i) n *= m.box[i];
  for (int64_t idx = 0; idx < n; ++idx) {
    int64_t rem = idx, off = 0;
    bool in = true;
    for (int i = 0; i < m.rank; ++i) {
      const int64_t x = co.c[i] + rem % m.box[i];
      rem /= m.box[i];
      in = in && x >= 0 && x < m.dims[i];
      off += i == 0 ? x * 2 : x * m.strides[i - 1];
    }
    const uint16_t h = in ? g[size_t(off / 2)] : 0;
    std::memcpy(&smem[A::sw128(dst + uint32_t(idx * 2))], &h, 2);
  }
}

// One launch (every CTA, `splits` splits, then the merge), emulated: shared memory as TMA fills it
// through the kernel's tensor maps and box coordinates (q / k / v in 'bhsd' or 'bshd' memory), wgmma
// by the element formulas reading through the descriptors, each consumer thread's registers.
inline EmuOut emulate(const Problem& P, int splits, bool bf16, bool bshd) {
  const A::Sm90Config cfg = A::sm90_config(A::padded_head_dim(P.D));
  const int HD = cfg.hd, BM = cfg.bm, BN = cfg.bn, NS = BN / 2, NO = HD / 2, KS = HD / 16, PS = BN / 16;
  const int64_t group = P.Hq / P.Hkv, rows_total = int64_t(P.Sq) * group, row_tiles = (rows_total + BM - 1) / BM;
  const int64_t nrows = int64_t(P.B) * P.Hq * P.Sq;
  std::vector<float> ws_o(size_t(splits) * nrows * P.D), ws_lse(size_t(splits) * nrows);
  EmuOut res{std::vector<float>(nrows * P.D), std::vector<float>(nrows)};
  const float kLog2e = 1.4426950408889634f;
  const bool plain = P.softcap <= 0 && P.mask.empty();
  const float scale_log2 = P.scale * kLog2e;
  std::vector<uint8_t> smem(cfg.bar_offset(), 0xEE);
  // q / k / v in memory, element strides (b, h, s) of the layout
  struct Mem {
    std::vector<uint16_t> g;
    int64_t sb, sh, ss;
  };
  auto lay = [&](const std::vector<float>& x, int64_t H, int64_t S) {
    Mem m{std::vector<uint16_t>(x.size()), H * S * P.D, bshd ? P.D : S * P.D, bshd ? H * P.D : P.D};
    for (int64_t b = 0; b < P.B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < S; ++i)
          for (int64_t d = 0; d < P.D; ++d)
            m.g[size_t(b * m.sb + h * m.sh + i * m.ss + d)] = enc16(x[size_t(((b * H + h) * S + i) * P.D + d)], bf16);
    return m;
  };
  const Mem mq = lay(P.q, P.Hq, P.Sq), mk = lay(P.k, P.Hkv, P.Sk), mv = lay(P.v, P.Hkv, P.Sk);
  const A::TmaMap qmap = A::sm90_q_map(P.D, group, P.Sq, P.Hkv, P.B, mq.sb, mq.sh, mq.ss);
  const A::TmaMap kvmap = A::sm90_kv_map(P.D, P.Sk, P.Hkv, P.B, mk.sb, mk.sh, mk.ss);
  auto get = [&](uint32_t addr) {
    uint16_t h;
    std::memcpy(&h, &smem[addr], 2);
    return dec16(h, bf16);
  };
  for (int64_t cta = 0; cta < row_tiles * P.B * P.Hkv; ++cta)
    for (int split = 0; split < splits; ++split) {
      const A::CtaTile ct = A::cta_tile(cta, row_tiles, int64_t(P.B) * P.Hkv, P.causal);
      const int64_t bh = ct.bh, b = bh / P.Hkv, hkv = bh % P.Hkv, r0 = ct.tile * BM;
      const int64_t L = P.kv_len.empty() ? P.Sk : P.kv_len[b];
      const int64_t key_end = A::tile_key_end(r0, std::min(r0 + BM, rows_total), group, P.Sq, L - P.Sq, L, P.causal);
      const int64_t n_tiles = (key_end + BN - 1) / BN, tps = A::split_tiles_per(n_tiles, splits);
      const int64_t t_begin = std::min<int64_t>(split * tps, n_tiles), t_end = std::min<int64_t>(t_begin + tps, n_tiles);
      // the producer's loads: Q once, then K / V per tile (panel p at 64p of the head dim)
      std::fill(smem.begin(), smem.end(), 0xEE);
      for (int p = 0; p < cfg.panels(); ++p) tma_load(smem, uint32_t(p * BM * 128), qmap, A::sm90_q_coord(p, r0, group, hkv, b), mq.g);
      // per consumer, per thread state
      struct Th {
        std::vector<float> o;
        float m[2], l[2];
      };
      std::vector<Th> th(256);
      for (Th& t : th) t.o.assign(NO, 0.0f), t.m[0] = t.m[1] = -INFINITY, t.l[0] = t.l[1] = 0;
      int64_t it = 0;
      for (int64_t kt = t_begin; kt < t_end; ++kt, ++it) {
        const int s = A::sm90_stage(it, cfg.stages);
        for (int p = 0; p < cfg.panels(); ++p) {
          tma_load(smem, uint32_t(cfg.k_offset(s) + p * BN * 128), kvmap, A::sm90_kv_coord(p, kt, BN, hkv, b), mk.g);
          tma_load(smem, uint32_t(cfg.v_offset(s) + p * BN * 128), kvmap, A::sm90_kv_coord(p, kt, BN, hkv, b), mv.g);
        }
        const A::RowRange pad = A::sm90_v_pad_rows(kt * BN, BN, L, P.Sk);  // the consumers zero the padding's V rows
        for (int row = pad.first; row < pad.end; ++row)
          for (int e = 0; e < HD; e += 8) std::memset(&smem[A::sm90_tile_addr(uint32_t(cfg.v_offset(s)), BN, row, e)], 0, 16);
        const int64_t j0 = kt * BN;
        for (int cs = 0; cs < 2; ++cs) {
          const int64_t row_base = r0 + 64 * cs;
          const int64_t wend = row_base < rows_total
                                   ? A::tile_key_end(row_base, std::min(row_base + 64, rows_total), group, P.Sq, L - P.Sq, L, P.causal)
                                   : 0;
          if (j0 >= wend) continue;
          // S = Q K^T: the 64 x BN product from the descriptors, then handed out by the D fragment.
          std::vector<float> S(64 * BN, 0.0f);
          for (int kk = 0; kk < KS; ++kk) {
            const Desc dq = decode_desc(G::wgmma_desc(A::sm90_q_desc_off(cfg, cs, kk), 16, A::kSm90Sbo, 1));
            const Desc dk = decode_desc(G::wgmma_desc(cfg.k_offset(s) + A::sm90_k_desc_off(cfg, kk), 16, A::kSm90Sbo, 1));
            for (int m = 0; m < 64; ++m)
              for (int nn = 0; nn < BN; ++nn) {
                double acc = 0;
                for (int k = 0; k < 16; ++k)
                  acc += double(get(A::wgmma_kmajor_sw128(dq.start, dq.sbo, m, k))) * get(A::wgmma_kmajor_sw128(dk.start, dk.sbo, nn, k));
                S[m * BN + nn] += float(acc);
              }
          }
          const bool all_vis = A::tile_all_visible(j0, BN, row_base, group, P.Sq, L - P.Sq, L, P.causal, !P.mask.empty());
          // per thread: scores, row max (quad shuffles = max over the 4 lanes of the quad)
          std::vector<std::vector<float>> sc(128, std::vector<float>(NS));
          std::vector<float> mx(128 * 2);
          for (int T = 0; T < 128; ++T) {
            Th& t = th[cs * 128 + T];
            const int lane = T & 31, w = T >> 5;
            mx[T * 2] = t.m[0], mx[T * 2 + 1] = t.m[1];
            for (int i = 0; i < NS; ++i) {
              const RowCol f = G::wgmma_frag_d(T, i);
              const int h = (i >> 1) & 1;
              float x = S[f.row * BN + f.col];
              if (plain) {
                x = x * scale_log2;
              } else {
                x = x * P.scale;
                if (P.softcap > 0) x = P.softcap * std::tanh(x / P.softcap);
              }
              if (!all_vis) {
                const int64_t row = row_base + 16 * w + (lane >> 2) + 8 * h, j = j0 + 8 * (i >> 2) + 2 * (lane & 3) + (i & 1);
                const A::RowMap qm = A::row_to_query(row, hkv, group);
                if (row >= rows_total || !A::key_visible(qm.i, j, L - P.Sq, L, P.causal))
                  x = -INFINITY;
                else if (!P.mask.empty())
                  x += P.mask[((b * P.Hq + qm.h) * P.Sq + qm.i) * P.Sk + j];
              }
              if (!plain) x *= kLog2e;
              sc[T][i] = x;
              mx[T * 2 + h] = std::fmax(mx[T * 2 + h], x);
            }
          }
          // P registers of the whole warp group: A[64][BN] (16-bit), assembled through the register A layout
          std::vector<float> Pm(64 * BN, NAN);
          for (int T = 0; T < 128; ++T) {
            Th& t = th[cs * 128 + T];
            float alpha[2];
            for (int h = 0; h < 2; ++h) {
              float q = mx[T * 2 + h];
              for (int o = 0; o < 4; ++o) q = std::fmax(q, mx[((T & ~3) + o) * 2 + h]);  // xor 1, 2 over the quad
              alpha[h] = t.m[h] == -INFINITY ? 0.0f : std::exp2(t.m[h] - q);
              t.m[h] = q;
              t.l[h] *= alpha[h];
            }
            for (int i = 0; i < NO; ++i) t.o[i] *= alpha[(i >> 1) & 1];
            for (int kk = 0; kk < PS; ++kk)
              for (int r = 0; r < 4; ++r) {
                const int i = A::sm90_p_acc(kk, r);
                const float m = t.m[r & 1];
                const float p0 = m == -INFINITY ? 0.0f : std::exp2(sc[T][i] - m), p1 = m == -INFINITY ? 0.0f : std::exp2(sc[T][i + 1] - m);
                t.l[r & 1] += p0 + p1;
                const RowCol a = A::wgmma_frag_a_reg(T, r);  // where wgmma takes this register's pair
                Pm[a.row * BN + 16 * kk + a.col] = rnd16(p0, bf16);
                Pm[a.row * BN + 16 * kk + a.col + 1] = rnd16(p1, bf16);
              }
          }
          // O += P V through the V descriptors, handed out by the D fragment
          std::vector<float> Om(64 * HD, 0.0f);
          for (int kk = 0; kk < PS; ++kk) {
            const Desc dv = decode_desc(G::wgmma_desc(cfg.v_offset(s) + A::sm90_v_desc_off(cfg, kk), A::sm90_v_lbo(cfg), A::kSm90Sbo, 1));
            for (int m = 0; m < 64; ++m)
              for (int nn = 0; nn < HD; ++nn) {
                double acc = 0;
                for (int k = 0; k < 16; ++k)
                  acc += double(Pm[m * BN + 16 * kk + k]) * get(A::wgmma_mnmajor_sw128(dv.start, dv.lbo, dv.sbo, nn, k));
                Om[m * HD + nn] += float(acc);
              }
          }
          for (int T = 0; T < 128; ++T)
            for (int i = 0; i < NO; ++i) {
              const RowCol f = G::wgmma_frag_d(T, i);
              th[cs * 128 + T].o[i] += Om[f.row * HD + f.col];
            }
        }
      }
      // epilogue
      for (int cs = 0; cs < 2; ++cs)
        for (int T = 0; T < 128; ++T) {
          const int lane = T & 31, w = T >> 5;
          float lq[2];
          for (int h = 0; h < 2; ++h) {
            lq[h] = 0;
            for (int o = 0; o < 4; ++o) lq[h] += th[cs * 128 + (T & ~3) + o].l[h];
          }
          const Th& t = th[cs * 128 + T];
          for (int h = 0; h < 2; ++h) {
            const int64_t row = r0 + 64 * cs + 16 * w + (lane >> 2) + 8 * h;
            if (row >= rows_total) continue;
            const A::RowMap qm = A::row_to_query(row, hkv, group);
            const bool any = lq[h] > 0;
            const float inv = any ? 1.0f / lq[h] : 0.0f;
            const float lse = any ? (t.m[h] + std::log2(lq[h])) * 0.6931471805599453f : -INFINITY;
            const int64_t lrow = (b * P.Hq + qm.h) * P.Sq + qm.i;
            for (int i = 0; i < NO; ++i) {
              if (((i >> 1) & 1) != h) continue;
              const int64_t col = 8 * (i >> 2) + 2 * (lane & 3) + (i & 1);
              if (col < P.D) ws_o[(split * nrows + lrow) * P.D + col] = t.o[i] * inv;
            }
            if ((lane & 3) == 0) ws_lse[split * nrows + lrow] = lse;
          }
        }
    }
  attention_cuda_checks::merge_splits(ws_o, ws_lse, splits, nrows, P.D, &res);
  return res;
}

inline void check_emulation(Ctx& c, std::mt19937& rng) {
  const attention_cuda_checks::EmuSpec specs[] = {
      {1, 2, 2, 150, 200, 64, false, 0, false, false, 1, false, false},  // ragged rows / keys, hd 64, two row tiles
      {1, 4, 2, 70, 300, 128, true, 0, false, false, 1, true, true},     // GQA group 2, causal (consumer early exit), bf16, bshd
      {2, 2, 1, 40, 150, 100, true, 0, false, true, 1, false, false},    // padded head dim, kvLengths + causal
      {1, 2, 2, 20, 140, 48, false, 3.0f, true, false, 1, false, true},  // softcap + additive mask with -inf, bshd
      {1, 8, 2, 16, 400, 128, false, 0, false, true, 3, false, false},   // group 4, kvLengths, KV splits + merge
      {1, 1, 1, 200, 60, 64, true, 0, false, false, 1, true, false},     // rows with no visible key, second tile empty
  };
  for (const attention_cuda_checks::EmuSpec& sp : specs) {
    const Problem P = attention_cuda_checks::make_problem(sp, rng, true);
    const double rel = sp.bf16 ? 1.0 / 128 : 1.0 / 1024;  // P rounded to the 16-bit type before P V
    attention_cuda_checks::expect_reference(c, "sm90", sp, P, emulate(P, sp.splits, sp.bf16, sp.bshd), rel * 4.0 + 1e-6, 1e-4,
                                            "the 16-bit P bound");
  }
}

inline void run(Ctx c, std::mt19937& rng) {
  attention_sm90_checks::check_fragments(c);
  attention_sm90_checks::check_smem(c);
  attention_sm90_checks::check_pipeline(c, rng);
  attention_sm90_checks::check_emulation(c, rng);
}

}  // namespace attention_sm90_checks
