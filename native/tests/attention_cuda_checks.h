// Host checks of the CUDA attention index math (native/ops/attention/attention_cuda_layout.h), for
// machines without a GPU:
//   - the P fragments (S accumulators reused as the A operand of P V) against the PTX ISA element
//     formulas of mma.m16n8k16 (gemm_cuda_checks::ptx_a / ptx_c, written out independently);
//   - the V operand read with ldmatrix.trans (emulated from the ISA's description of the
//     instruction) against the B fragment formula;
//   - the visible-key range of a row tile (causal bottom-right, kvLengths, GQA row packing) and the
//     "all visible" fast path against a brute-force visibility test; the KV split coverage;
//   - a host emulation of attn_fwd_sm80's main loop, lane by lane (tile loads through copy_chunk and
//     the swizzle, ldmatrix / ldmatrix.trans, mma by the ISA formulas, the online softmax with the
//     quad shuffles, P packing, the epilogue and the split merge) against a float64 reference, for
//     every tile config, GQA, causal, masks, kvLengths, softcap, empty rows and splits.
// Included by selftest.cc; run() reports through the GEMM checks' Ctx.
#pragma once
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../core/half.h"
#include "../ops/attention/attention_cuda_layout.h"
#include "gemm_cuda_checks.h"

namespace attention_cuda_checks {

using gemm_cuda_checks::Ctx;
using tk::cugemm::RowCol;
namespace A = tk::cuattn;
namespace G = tk::cugemm;

// ---- fragments ------------------------------------------------------------------------------------
inline void check_fragments(Ctx& c) {
  bool ok = true;
  for (int lane = 0; lane < 32; ++lane)
    for (int r = 0; r < 4; ++r)
      for (int e = 0; e < 2; ++e) {
        // register r, half e of the P A-fragment of a 16-key step is A element 2r + e
        const RowCol want = gemm_cuda_checks::ptx_a(2, lane, 2 * r + e);
        const A::PSource ps = A::p_frag_source(r);
        const RowCol have = gemm_cuda_checks::ptx_c(lane, ps.elem + e);  // within n-block ps.nblock
        ok = ok && have.row == want.row && ps.nblock * 8 + have.col == want.col;
      }
  c.expect(ok, "attention: P fragments from S accumulators match the m16n8k16 A layout");

  // ldmatrix.x4.trans: lane l provides the row address of row l % 8 of matrix l / 8; lane l receives
  // in register j the b16 pair at (rows 2 (l % 4) + {0,1}, column l / 4) of matrix j.
  for (int hd : {32, 64, 128, 256}) {
    const int rb = hd * 2;
    bool vok = true;
    for (int kk = 0; kk < 4; ++kk)
      for (int nb = 0; nb < hd; nb += 16)
        for (int lane = 0; lane < 32; ++lane)
          for (int j = 0; j < 4; ++j)
            for (int e = 0; e < 2; ++e) {
              const RowCol src = A::v_ldsm(8 * j + 2 * (lane & 3) + e, kk, nb);
              const int key = src.row, d = (src.col + 2 * (lane >> 2)) / 2;
              const RowCol bf = gemm_cuda_checks::ptx_b(2, lane, 2 * (j & 1) + e);  // (k, n)
              vok = vok && key == kk * 16 + bf.row && d == nb + 8 * (j >> 1) + bf.col && src.col % 16 == 0 &&
                    A::tile_offset(src.row, src.col, rb) % 16 == 0;
            }
    c.expect(vok, "attention: V via ldmatrix.trans gives the B fragments of P V, head dim " + std::to_string(hd));
    // every ldmatrix.trans phase (8 lanes) hits 8 different 16-byte bank groups
    bool free = true;
    for (int kk = 0; kk < 4; ++kk)
      for (int nb = 0; nb < hd; nb += 16)
        for (int j = 0; j < 4; ++j) {
          int seen = 0;
          for (int r = 0; r < 8; ++r) {
            const RowCol s = A::v_ldsm(8 * j + r, kk, nb);
            seen |= 1 << ((A::tile_offset(s.row, s.col, rb) >> 4) & 7);
          }
          free = free && seen == 0xff;
        }
    c.expect(free, "attention: V ldmatrix.trans phases are bank-conflict free, head dim " + std::to_string(hd));
  }
  c.expect(A::padded_head_dim(1) == 32 && A::padded_head_dim(33) == 64 && A::padded_head_dim(128) == 128 &&
               A::padded_head_dim(200) == 256 && A::padded_head_dim(257) == 0,
           "attention: padded head dims");
  for (const A::TileConfig& t : {A::kCfg32, A::kCfg64, A::kCfg128, A::kCfg256})
    c.expect(t.bm == 16 * t.warps && t.bn % 16 == 0 && t.smem_bytes() <= 99 * 1024,
             "attention: config hd " + std::to_string(t.hd) + " is 16 rows per warp, 16-key steps, fits sm_86/89 smem");
}

// ---- key ranges -----------------------------------------------------------------------------------
inline void check_ranges(Ctx& c) {
  bool ok = true, fast_ok = true;
  // off: the default bottom-right offset L - Sq, and explicit causal offsets from -Sq to past L (a
  // mask shorter than the keys clips L below Sk while the offset stays the caller's).
  for (int group : {1, 3, 4})
    for (int Sq : {1, 5, 33, 70})
      for (int L : {0, 1, 17, 64, 100})
        for (int oi = 0; oi < 6; ++oi)
          for (int causal = 0; causal < 2; ++causal)
            for (int bm : {16, 64}) {
              const int64_t off = oi == 0 ? L - Sq : oi == 1 ? -Sq : oi == 2 ? 0 : oi == 3 ? 3 : oi == 4 ? L : L + 7;
              const int rows = Sq * group;
              for (int r0 = 0; r0 < rows; r0 += bm) {
                const int r1 = std::min(rows, r0 + bm);
                const int64_t end = A::tile_key_end(r0, r1, group, Sq, off, L, causal != 0);
                for (int r = r0; r < r1; ++r) {
                  const A::RowMap m = A::row_to_query(r, 0, group);
                  for (int j = 0; j < L + 3; ++j) {
                    const bool vis = j < L && (!causal || j <= m.i + off);  // docs/attention.md: j <= i + causalOffset
                    ok = ok && (!vis || j < end) && A::key_visible(m.i, j, off, L, causal != 0) == vis;
                  }
                }
                for (int j0 = 0; j0 < L + 64; j0 += 32)
                  if (A::tile_all_visible(j0, 32, r0, group, Sq, off, L, causal != 0, false))
                    for (int r = r0; r < r1; ++r)
                      for (int j = j0; j < j0 + 32; ++j) fast_ok = fast_ok && A::key_visible(r / group, j, off, L, causal != 0);
              }
            }
  c.expect(ok, "attention: tile_key_end covers every visible key; key_visible is the causal-offset rule");
  c.expect(fast_ok, "attention: fully visible tiles need no per-element test");
  bool split_ok = true;
  for (int n = 0; n < 40; ++n)
    for (int s = 1; s < 10; ++s) {
      std::vector<int> hit(n, 0);
      const int64_t tps = A::split_tiles_per(n, s);
      for (int k = 0; k < s; ++k)
        for (int64_t t = std::min<int64_t>(k * tps, n); t < std::min<int64_t>((k + 1) * tps, n); ++t) ++hit[t];
      for (int t = 0; t < n; ++t) split_ok = split_ok && hit[t] == 1;
    }
  c.expect(split_ok, "attention: KV splits cover each key tile exactly once");
  bool order_ok = true;
  for (int rt = 1; rt < 7; ++rt)
    for (int bhn = 1; bhn < 6; ++bhn)
      for (int causal = 0; causal < 2; ++causal) {
        std::vector<int> hit(size_t(rt) * bhn, 0);
        for (int cta = 0; cta < rt * bhn; ++cta) {
          const A::CtaTile t = A::cta_tile(cta, rt, bhn, causal != 0);
          if (t.bh < 0 || t.bh >= bhn || t.tile < 0 || t.tile >= rt)
            order_ok = false;
          else
            ++hit[size_t(t.bh) * rt + t.tile];
          // causal: never a shorter tile before a longer one
          if (causal && cta > 0) order_ok = order_ok && A::cta_tile(cta - 1, rt, bhn, true).tile >= t.tile;
        }
        for (int h : hit) order_ok = order_ok && h == 1;
      }
  c.expect(order_ok, "attention: the CTA order maps each (head, row tile) once; causal is longest first");
}

// ---- host emulation of attn_fwd_sm80 ---------------------------------------------------------------
struct Problem {
  int B, Hq, Hkv, Sq, Sk, D;
  bool causal;
  float scale, softcap;
  std::vector<int> kv_len;     // empty: Sk
  std::vector<float> mask;     // empty or full [B, Hq, Sq, Sk]; additive (-inf hides)
  std::vector<float> q, k, v;  // 'bhsd', already rounded to the compute type
};

inline float rnd16(float x, bool bf16) { return bf16 ? tk::bf16_to_f32(tk::f32_to_bf16(x)) : tk::f16_to_f32(tk::f32_to_f16(x)); }
inline uint16_t enc16(float x, bool bf16) { return bf16 ? tk::f32_to_bf16(x) : tk::f32_to_f16(x); }
inline float dec16(uint16_t h, bool bf16) { return bf16 ? tk::bf16_to_f32(h) : tk::f16_to_f32(h); }

using Regs = uint32_t[32][4];

// ldmatrix.x4 (optionally .trans) over a byte tile: lane l's address is addr(l).
template <class F>
void ldsm(const std::vector<uint8_t>& tile, F addr, bool trans, uint32_t (&out)[32][4]) {
  for (int l = 0; l < 32; ++l)
    for (int j = 0; j < 4; ++j) {
      if (!trans) {
        std::memcpy(&out[l][j], &tile[addr(8 * j + l / 4) + 4 * (l % 4)], 4);
      } else {
        uint16_t h[2];
        for (int e = 0; e < 2; ++e) std::memcpy(&h[e], &tile[addr(8 * j + 2 * (l % 4) + e) + 2 * (l / 4)], 2);
        out[l][j] = uint32_t(h[0]) | (uint32_t(h[1]) << 16);
      }
    }
}
// mma.m16n8k16 by the ISA element formulas: c[lane][4] += A(a regs) B(b regs).
inline void mma(float (&c)[32][4], const uint32_t (&a)[32][4], const uint32_t (&b)[32][2], bool bf16) {
  float Am[16][16], Bm[16][8];
  for (int l = 0; l < 32; ++l) {
    for (int i = 0; i < 8; ++i) {
      const RowCol p = gemm_cuda_checks::ptx_a(2, l, i);
      Am[p.row][p.col] = dec16(uint16_t(a[l][i / 2] >> (16 * (i & 1))), bf16);
    }
    for (int i = 0; i < 4; ++i) {
      const RowCol p = gemm_cuda_checks::ptx_b(2, l, i);
      Bm[p.row][p.col] = dec16(uint16_t(b[l][i / 2] >> (16 * (i & 1))), bf16);
    }
  }
  for (int l = 0; l < 32; ++l)
    for (int i = 0; i < 4; ++i) {
      const RowCol p = gemm_cuda_checks::ptx_c(l, i);
      double s = 0;
      for (int k = 0; k < 16; ++k) s += double(Am[p.row][k]) * Bm[k][p.col];
      c[l][i] += float(s);
    }
}

struct EmuOut {
  std::vector<float> out, lse;
};

// attn_merge: the splits in split order.
inline void merge_splits(const std::vector<float>& ws_o, const std::vector<float>& ws_lse, int splits, int64_t nrows, int D, EmuOut* res) {
  for (int64_t r = 0; r < nrows; ++r) {
    float M = -INFINITY;
    for (int s = 0; s < splits; ++s) M = std::fmax(M, ws_lse[s * nrows + r]);
    float den = 0;
    std::vector<float> num(D, 0.0f);
    if (M != -INFINITY)
      for (int s = 0; s < splits; ++s) {
        const float ls = ws_lse[s * nrows + r];
        if (ls == -INFINITY) continue;
        const float w = std::exp(ls - M);
        den += w;
        for (int d = 0; d < D; ++d) num[d] += w * ws_o[(s * nrows + r) * D + d];
      }
    for (int d = 0; d < D; ++d) res->out[r * D + d] = den > 0 ? num[d] / den : 0.0f;
    res->lse[r] = den > 0 ? M + std::log(den) : -INFINITY;
  }
}

// One launch of attn_fwd_sm80 (all CTAs, `splits` splits, then the merge), emulated.
inline EmuOut emulate(const Problem& P, const A::TileConfig& cfg, int splits, bool bf16) {
  const int HD = cfg.hd, BM = cfg.bm, BN = cfg.bn, RB = HD * 2, NB = BN / 8, DB = HD / 8;
  const int64_t group = P.Hq / P.Hkv, rows_total = int64_t(P.Sq) * group, row_tiles = (rows_total + BM - 1) / BM;
  const int64_t nrows = int64_t(P.B) * P.Hq * P.Sq;
  std::vector<float> ws_o(size_t(splits) * nrows * P.D), ws_lse(size_t(splits) * nrows);
  EmuOut res{std::vector<float>(nrows * P.D), std::vector<float>(nrows)};
  const float kLog2e = 1.4426950408889634f;
  auto qoff = [&](int64_t b, int64_t h, int64_t i) { return ((b * P.Hq + h) * P.Sq + i) * P.D; };
  auto koff = [&](int64_t b, int64_t h, int64_t j) { return ((b * P.Hkv + h) * P.Sk + j) * P.D; };
  for (int64_t cta = 0; cta < row_tiles * P.B * P.Hkv; ++cta)
    for (int split = 0; split < splits; ++split) {
      const A::CtaTile ct = A::cta_tile(cta, row_tiles, int64_t(P.B) * P.Hkv, P.causal);
      const int64_t bh = ct.bh, b = bh / P.Hkv, hkv = bh % P.Hkv, r0 = ct.tile * BM;
      const int64_t L = P.kv_len.empty() ? P.Sk : P.kv_len[b];
      const int64_t key_end = A::tile_key_end(r0, std::min(r0 + BM, rows_total), group, P.Sq, L - P.Sq, L, P.causal);
      const int64_t n_tiles = (key_end + BN - 1) / BN, tps = A::split_tiles_per(n_tiles, splits);
      const int64_t t_begin = std::min<int64_t>(split * tps, n_tiles), t_end = std::min<int64_t>(t_begin + tps, n_tiles);
      // tile loads: copy_chunk + swizzle, zero fill outside
      auto fill = [&](std::vector<uint8_t>& dst, int rows, const std::vector<float>& t, auto src) {
        dst.assign(size_t(rows) * RB, 0xEE);
        for (int qch = 0; qch < rows * RB / 16; ++qch) {
          const RowCol rc = G::copy_chunk(qch, RB);
          const int64_t s = src(rc.row);
          for (int e = 0; e < 8; ++e) {
            const int64_t col = rc.col / 2 + e;
            const uint16_t h = enc16(s >= 0 && col < P.D ? t[s + col] : 0.0f, bf16);
            std::memcpy(&dst[A::tile_offset(rc.row, rc.col + 2 * e, RB)], &h, 2);
          }
        }
      };
      std::vector<uint8_t> sQ, sK, sV;
      fill(sQ, BM, P.q, [&](int row) -> int64_t {
        const int64_t r = r0 + row;
        if (r >= rows_total) return -1;
        const A::RowMap m = A::row_to_query(r, hkv, group);
        return qoff(b, m.h, m.i);
      });
      for (int w = 0; w < cfg.warps; ++w) {
        float o[32][64][4] = {};  // [lane][DB][4]
        float m_run[32][2], l_run[32][2];
        for (int l = 0; l < 32; ++l) m_run[l][0] = m_run[l][1] = -INFINITY, l_run[l][0] = l_run[l][1] = 0.0f;
        for (int64_t t = t_begin; t < t_end; ++t) {
          const int64_t j0 = t * BN;
          auto kv_src = [&](int row) -> int64_t { return j0 + row < key_end ? koff(b, hkv, j0 + row) : -1; };
          fill(sK, BN, P.k, kv_src);
          fill(sV, BN, P.v, kv_src);
          static float s[32][32][4];  // [lane][NB][4]
          for (int l = 0; l < 32; ++l)
            for (int n = 0; n < NB; ++n)
              for (int e = 0; e < 4; ++e) s[l][n][e] = 0.0f;
          for (int kk = 0; kk < HD / 16; ++kk) {
            uint32_t af[32][4];
            ldsm(
                sQ,
                [&](int l) {
                  const RowCol a = G::ldsm_a_kmajor(l);
                  return A::tile_offset(w * 16 + a.row, kk * 32 + a.col, RB);
                },
                false, af);
            for (int n = 0; n < NB; n += 2) {
              uint32_t r[32][4], b0[32][2], b1[32][2];
              ldsm(
                  sK,
                  [&](int l) {
                    const RowCol bb = G::ldsm_b_kmajor(l);
                    return A::tile_offset(n * 8 + bb.row, kk * 32 + bb.col, RB);
                  },
                  false, r);
              float c0[32][4], c1[32][4];
              for (int l = 0; l < 32; ++l) {
                b0[l][0] = r[l][0], b0[l][1] = r[l][1], b1[l][0] = r[l][2], b1[l][1] = r[l][3];
                for (int e = 0; e < 4; ++e) c0[l][e] = s[l][n][e], c1[l][e] = s[l][n + 1][e];
              }
              mma(c0, af, b0, bf16);
              mma(c1, af, b1, bf16);
              for (int l = 0; l < 32; ++l)
                for (int e = 0; e < 4; ++e) s[l][n][e] = c0[l][e], s[l][n + 1][e] = c1[l][e];
            }
          }
          const bool full = A::tile_all_visible(j0, BN, r0, group, P.Sq, L - P.Sq, L, P.causal, !P.mask.empty());
          float mx[32][2];
          for (int l = 0; l < 32; ++l) {
            const int64_t rlo = r0 + w * 16 + l / 4;
            mx[l][0] = m_run[l][0], mx[l][1] = m_run[l][1];
            for (int n = 0; n < NB; ++n)
              for (int e = 0; e < 4; ++e) {
                float x = s[l][n][e] * P.scale;
                if (P.softcap > 0) x = P.softcap * std::tanh(x / P.softcap);
                if (!full) {
                  const int64_t j = j0 + n * 8 + 2 * (l & 3) + (e & 1), row = rlo + 8 * (e >> 1);
                  const A::RowMap qm = A::row_to_query(row, hkv, group);
                  if (row >= rows_total || !A::key_visible(qm.i, j, L - P.Sq, L, P.causal))
                    x = -INFINITY;
                  else if (!P.mask.empty())
                    x += P.mask[((b * P.Hq + qm.h) * P.Sq + qm.i) * P.Sk + j];
                }
                x *= kLog2e;
                s[l][n][e] = x;
                mx[l][e >> 1] = std::fmax(mx[l][e >> 1], x);
              }
          }
          for (int h = 0; h < 2; ++h) {
            float red[32];
            for (int l = 0; l < 32; ++l) red[l] = std::fmax(mx[l][h], mx[l ^ 1][h]);
            for (int l = 0; l < 32; ++l) mx[l][h] = std::fmax(red[l], red[l ^ 2]);
            for (int l = 0; l < 32; ++l) {
              const float alpha = m_run[l][h] == -INFINITY ? 0.0f : std::exp2(m_run[l][h] - mx[l][h]);
              m_run[l][h] = mx[l][h];
              l_run[l][h] *= alpha;
              for (int d = 0; d < DB; ++d) o[l][d][2 * h] *= alpha, o[l][d][2 * h + 1] *= alpha;
            }
          }
          for (int l = 0; l < 32; ++l)
            for (int n = 0; n < NB; ++n)
              for (int e = 0; e < 4; ++e) {
                const float m = m_run[l][e >> 1];
                const float p = m == -INFINITY ? 0.0f : std::exp2(s[l][n][e] - m);
                s[l][n][e] = p;
                l_run[l][e >> 1] += p;
              }
          for (int kk = 0; kk < BN / 16; ++kk) {
            uint32_t pf[32][4];
            for (int l = 0; l < 32; ++l)
              for (int r = 0; r < 4; ++r) {
                const A::PSource ps = A::p_frag_source(r);
                pf[l][r] = uint32_t(enc16(s[l][2 * kk + ps.nblock][ps.elem], bf16)) |
                           (uint32_t(enc16(s[l][2 * kk + ps.nblock][ps.elem + 1], bf16)) << 16);
              }
            for (int d = 0; d < DB; d += 2) {
              uint32_t r[32][4], b0[32][2], b1[32][2];
              ldsm(
                  sV,
                  [&](int l) {
                    const RowCol lv = A::v_ldsm(l, kk, d * 8);
                    return A::tile_offset(lv.row, lv.col, RB);
                  },
                  true, r);
              float c0[32][4], c1[32][4];
              for (int l = 0; l < 32; ++l) {
                b0[l][0] = r[l][0], b0[l][1] = r[l][1], b1[l][0] = r[l][2], b1[l][1] = r[l][3];
                for (int e = 0; e < 4; ++e) c0[l][e] = o[l][d][e], c1[l][e] = o[l][d + 1][e];
              }
              mma(c0, pf, b0, bf16);
              mma(c1, pf, b1, bf16);
              for (int l = 0; l < 32; ++l)
                for (int e = 0; e < 4; ++e) o[l][d][e] = c0[l][e], o[l][d + 1][e] = c1[l][e];
            }
          }
        }
        // epilogue
        for (int h = 0; h < 2; ++h) {
          float red[32];
          for (int l = 0; l < 32; ++l) red[l] = l_run[l][h] + l_run[l ^ 1][h];
          for (int l = 0; l < 32; ++l) l_run[l][h] = red[l] + red[l ^ 2];
        }
        for (int l = 0; l < 32; ++l)
          for (int h = 0; h < 2; ++h) {
            const int64_t row = r0 + w * 16 + l / 4 + 8 * h;
            if (row >= rows_total) continue;
            const A::RowMap qm = A::row_to_query(row, hkv, group);
            const bool any = l_run[l][h] > 0.0f;
            const float inv = any ? 1.0f / l_run[l][h] : 0.0f;
            const float lse = any ? (m_run[l][h] + std::log2(l_run[l][h])) * 0.6931471805599453f : -INFINITY;
            const int64_t lrow = (b * P.Hq + qm.h) * P.Sq + qm.i;
            for (int d = 0; d < DB; ++d)
              for (int e = 0; e < 2; ++e) {
                const int64_t col = d * 8 + 2 * (l & 3) + e;
                if (col < P.D) ws_o[(split * nrows + lrow) * P.D + col] = o[l][d][2 * h + e] * inv;
              }
            if ((l & 3) == 0) ws_lse[split * nrows + lrow] = lse;
          }
      }
    }
  merge_splits(ws_o, ws_lse, splits, nrows, P.D, &res);
  return res;
}

// ---- the split-KV decode kernel (attn_decode) ------------------------------------------------------
// Ownership and banks of its shared-memory reads, per head dim:
//   - every (key, 16-byte chunk) of a K tile is read by exactly one (warp, lane, step), and the
//     lanes of one key cover the head dim in lpk parts;
//   - each 8-lane phase of a K chunk read hits 8 different 16-byte bank groups (the swizzle), and
//     the phase's lanes read the same q chunk (a broadcast);
//   - the P V read: the lanes cover [0, hd) once, each lane's piece inside one 16-byte chunk, every
//     phase conflict-free; the p broadcast source lane holds part 0 of that key;
//   - the merge area fits over the stages; the configs fit sm_86 / 89 shared memory.
inline void check_decode_layout(Ctx& c) {
  for (int hd : {32, 64, 128, 256}) {
    const A::DecodeConfig d = A::decode_config(hd);
    const int rb = d.row_bytes(), chunks = rb / 16;
    const std::string h = " (decode, head dim " + std::to_string(hd) + ")";
    std::vector<int> hit(size_t(d.keys()) * chunks, 0);
    bool parts_ok = true, banks_ok = true, bcast_ok = true;
    for (int w = 0; w < A::kDecodeWarps; ++w)
      for (int step = 0; step < d.chunks_per_lane(); ++step) {
        for (int lane = 0; lane < 32; ++lane) {
          const RowCol k = A::decode_k_chunk(d, w, lane, step);
          ++hit[size_t(k.row) * chunks + k.col / 16];
          parts_ok = parts_ok && k.row / d.kpw == w && k.col / 16 / d.chunks_per_lane() == lane / d.kpw;
        }
        // 128-bit loads go in 4 phases of 8 lanes
        for (int ph = 0; ph < 4; ++ph) {
          int seen = 0;
          for (int l = 8 * ph; l < 8 * ph + 8; ++l) {
            const RowCol k = A::decode_k_chunk(d, w, l, step);
            seen |= 1 << ((A::tile_offset(k.row, k.col, rb) >> 4) & 7);
            bcast_ok = bcast_ok && k.col == A::decode_k_chunk(d, w, 8 * ph, step).col;
          }
          banks_ok = banks_ok && seen == 0xff;
        }
      }
    bool once = true;
    for (int x : hit) once = once && x == 1;
    c.expect(once && parts_ok, "attention: every K chunk of a tile is read once, by its key's warp and part" + h);
    c.expect(banks_ok, "attention: K chunk reads are bank-conflict free" + h);
    c.expect(bcast_ok, "attention: a phase's lanes read one q chunk (broadcast)" + h);
    std::vector<int> vhit(hd, 0);
    bool vin = true, vbank = true;
    const int vbytes = d.v_elems() * 2;
    for (int lane = 0; lane < 32; ++lane) {
      const int e0 = A::decode_v_elem(d, lane);
      for (int e = 0; e < d.v_elems(); ++e) ++vhit[e0 + e];
      vin = vin && (e0 * 2) / 16 == (e0 * 2 + vbytes - 1) / 16 && (e0 * 2) % vbytes == 0;
    }
    for (int row = 0; row < 8; ++row) {
      // lanes per phase: 128 bytes per phase (32 / (vbytes / 4) lanes when vbytes >= 4)
      const int lanes_per_phase = vbytes <= 4 ? 32 : 128 / vbytes;
      for (int ph = 0; ph < 32 / lanes_per_phase; ++ph) {
        std::vector<int> word_owner(32, -1);
        for (int l = ph * lanes_per_phase; l < (ph + 1) * lanes_per_phase; ++l) {
          const int off = A::tile_offset(row, A::decode_v_elem(d, l) * 2, rb);
          for (int b = 0; b < std::max(vbytes, 1); b += 4) {
            const int bank = ((off + b) >> 2) & 31, word = (off + b) >> 2;
            vbank = vbank && (word_owner[bank] < 0 || word_owner[bank] == word);
            word_owner[bank] = word;
          }
        }
      }
    }
    bool once_v = true;
    for (int x : vhit) once_v = once_v && x == 1;
    c.expect(once_v && vin, "attention: P V lanes own each head-dim element once, inside one chunk" + h);
    c.expect(vbank, "attention: V row reads are bank-conflict free" + h);
    bool plane = true;
    for (int kk = 0; kk < d.kpw; ++kk)
      plane = plane && A::decode_k_chunk(d, 0, A::decode_p_lane(d, kk), 0).row == kk && A::decode_p_lane(d, kk) / d.kpw == 0;
    c.expect(plane, "attention: the p broadcast lane holds part 0 of its key" + h);
    c.expect(d.merge_bytes() <= 4 * d.stage_bytes() && d.smem_bytes() <= 99 * 1024 && 32 % d.kpw == 0 && d.chunks_per_lane() >= 1,
             "attention: decode config fits (merge over the stages, sm_86 / 89 smem)" + h);
  }
}

// One launch of attn_decode (all CTAs and splits, then attn_merge), emulated lane by lane: the
// swizzled tiles, the lanes' K chunk reads and q broadcast, the part and max butterflies, the online
// softmax, the p broadcasts and V pieces, the warp merge in warp order.
inline EmuOut emulate_decode(const Problem& P, int splits, bool bf16) {
  const int HD = A::padded_head_dim(P.D);
  const A::DecodeConfig d = A::decode_config(HD);
  const int R = A::kDecodeRows, W = A::kDecodeWarps, RB = HD * 2, BN = d.keys(), KPW = d.kpw, VE = d.v_elems();
  const int64_t group = P.Hq / P.Hkv, rows_total = int64_t(P.Sq) * group, chunks = A::decode_row_chunks(rows_total);
  const int64_t nrows_all = int64_t(P.B) * P.Hq * P.Sq;
  std::vector<float> ws_o(size_t(splits) * nrows_all * P.D, 0.0f), ws_lse(size_t(splits) * nrows_all, -INFINITY);
  EmuOut res{std::vector<float>(nrows_all * P.D), std::vector<float>(nrows_all)};
  const float kLog2e = 1.4426950408889634f;
  auto koff = [&](int64_t b, int64_t h, int64_t j) { return ((b * P.Hkv + h) * P.Sk + j) * P.D; };
  auto fill = [&](std::vector<uint8_t>& dst, const std::vector<float>& t, int64_t b, int64_t hkv, int64_t j0, int64_t end) {
    dst.assign(size_t(BN) * RB, 0xEE);
    for (int qch = 0; qch < BN * RB / 16; ++qch) {
      const RowCol rc = G::copy_chunk(qch, RB);
      const int64_t j = j0 + rc.row, src = j < end ? koff(b, hkv, j) : -1;
      for (int e = 0; e < 8; ++e) {
        const int64_t col = rc.col / 2 + e;
        const uint16_t h = enc16(src >= 0 && col < P.D ? t[src + col] : 0.0f, bf16);
        std::memcpy(&dst[A::tile_offset(rc.row, rc.col + 2 * e, RB)], &h, 2);
      }
    }
  };
  auto rd = [&](const std::vector<uint8_t>& tile, int off) {
    uint16_t h;
    std::memcpy(&h, &tile[off], 2);
    return dec16(h, bf16);
  };
  for (int64_t cta = 0; cta < chunks * P.B * P.Hkv; ++cta)
    for (int split = 0; split < splits; ++split) {
      const int64_t bh = cta / chunks, b = bh / P.Hkv, hkv = bh % P.Hkv, r0 = (cta % chunks) * R;
      const int nr = int(std::min<int64_t>(R, rows_total - r0));
      const int64_t L = P.kv_len.empty() ? P.Sk : P.kv_len[b];
      const int64_t key_end = A::tile_key_end(r0, r0 + nr, group, P.Sq, L - P.Sq, L, P.causal);
      const int64_t n_tiles = (key_end + BN - 1) / BN, tps = A::split_tiles_per(n_tiles, splits);
      const int64_t t_begin = std::min<int64_t>(split * tps, n_tiles), t_end = std::min<int64_t>(t_begin + tps, n_tiles);
      std::vector<float> sQ(size_t(R) * HD, 0.0f);
      for (int r = 0; r < nr; ++r) {
        const A::RowMap m = A::row_to_query(r0 + r, hkv, group);
        for (int dd = 0; dd < P.D; ++dd) sQ[r * HD + dd] = P.q[((b * P.Hq + m.h) * P.Sq + m.i) * P.D + dd] * P.scale;
      }
      // per warp, per lane state
      std::vector<float> o(size_t(W) * 32 * R * VE, 0.0f), m_run(size_t(W) * 32 * R, -INFINITY), l_run(size_t(W) * 32 * R, 0.0f);
      auto O = [&](int w, int l, int r, int e) -> float& { return o[((size_t(w) * 32 + l) * R + r) * VE + e]; };
      auto S = [&](std::vector<float>& v, int w, int l, int r) -> float& { return v[(size_t(w) * 32 + l) * R + r]; };
      std::vector<uint8_t> sK, sV;
      for (int64_t t = t_begin; t < t_end; ++t) {
        const int64_t j0 = t * BN;
        fill(sK, P.k, b, hkv, j0, key_end);
        fill(sV, P.v, b, hkv, j0, key_end);
        const bool full = A::tile_all_visible(j0, BN, r0, group, P.Sq, L - P.Sq, L, P.causal, !P.mask.empty());
        for (int w = 0; w < W; ++w) {
          float s[32][8] = {};
          for (int l = 0; l < 32; ++l)
            for (int c = 0; c < d.chunks_per_lane(); ++c) {
              const RowCol kc = A::decode_k_chunk(d, w, l, c);
              for (int r = 0; r < nr; ++r)
                for (int e = 0; e < 8; ++e)
                  s[l][r] = std::fmaf(sQ[r * HD + kc.col / 2 + e], rd(sK, A::tile_offset(kc.row, kc.col + 2 * e, RB)), s[l][r]);
            }
          for (int r = 0; r < nr; ++r) {
            for (int off = KPW; off < 32; off <<= 1) {
              float nx[32];
              for (int l = 0; l < 32; ++l) nx[l] = s[l][r] + s[l ^ off][r];
              for (int l = 0; l < 32; ++l) s[l][r] = nx[l];
            }
            const A::RowMap qm = A::row_to_query(r0 + r, hkv, group);
            float x[32], mx = -INFINITY;
            for (int l = 0; l < 32; ++l) {
              const int64_t j = j0 + w * KPW + l % KPW;
              float v = s[l][r];
              if (P.softcap > 0) v = P.softcap * std::tanh(v * (1.0f / P.softcap));
              if (!full) {
                if (!A::key_visible(qm.i, j, L - P.Sq, L, P.causal))
                  v = -INFINITY;
                else if (!P.mask.empty())
                  v += P.mask[((b * P.Hq + qm.h) * P.Sq + qm.i) * P.Sk + j];
              }
              x[l] = v * kLog2e;
              mx = std::fmax(mx, x[l]);
            }
            for (int l = 0; l < 32; ++l) {
              float& m = S(m_run, w, l, r);
              const float m_new = std::fmax(m, mx);
              const float alpha = m == -INFINITY ? 0.0f : std::exp2(m - m_new);
              const float p = m_new == -INFINITY ? 0.0f : std::exp2(x[l] - m_new);
              m = m_new;
              S(l_run, w, l, r) = S(l_run, w, l, r) * alpha + (l / KPW == 0 ? p : 0.0f);
              for (int e = 0; e < VE; ++e) O(w, l, r, e) *= alpha;
              s[l][r] = p;
            }
          }
          for (int kk = 0; kk < KPW; ++kk)
            for (int l = 0; l < 32; ++l)
              for (int r = 0; r < nr; ++r) {
                const float p = s[A::decode_p_lane(d, kk)][r];
                for (int e = 0; e < VE; ++e)
                  O(w, l, r, e) = std::fmaf(p, rd(sV, A::tile_offset(w * KPW + kk, (A::decode_v_elem(d, l) + e) * 2, RB)), O(w, l, r, e));
              }
        }
      }
      // warp merge
      std::vector<float> mo(size_t(W) * R * HD, 0.0f), mm(size_t(W) * R), ml(size_t(W) * R);
      for (int w = 0; w < W; ++w)
        for (int r = 0; r < nr; ++r) {
          float lsum[32];
          for (int l = 0; l < 32; ++l) lsum[l] = S(l_run, w, l, r);
          for (int off = 16; off > 0; off >>= 1) {
            float nx[32];
            for (int l = 0; l < 32; ++l) nx[l] = lsum[l] + lsum[l ^ off];
            for (int l = 0; l < 32; ++l) lsum[l] = nx[l];
          }
          for (int l = 0; l < 32; ++l)
            for (int e = 0; e < VE; ++e) mo[(w * R + r) * HD + A::decode_v_elem(d, l) + e] = O(w, l, r, e);
          mm[w * R + r] = S(m_run, w, 0, r), ml[w * R + r] = lsum[0];
        }
      for (int r = 0; r < nr; ++r)
        for (int dd = 0; dd < P.D; ++dd) {
          float M = -INFINITY;
          for (int w = 0; w < W; ++w) M = std::fmax(M, mm[w * R + r]);
          float num = 0, den = 0;
          if (M != -INFINITY)
            for (int w = 0; w < W; ++w) {
              if (mm[w * R + r] == -INFINITY) continue;
              const float f = std::exp2(mm[w * R + r] - M);
              den += f * ml[w * R + r];
              num += f * mo[(w * R + r) * HD + dd];
            }
          const A::RowMap q = A::row_to_query(r0 + r, hkv, group);
          const int64_t lrow = (b * P.Hq + q.h) * P.Sq + q.i;
          ws_o[(split * nrows_all + lrow) * P.D + dd] = den > 0 ? num / den : 0.0f;
          if (dd == 0) ws_lse[split * nrows_all + lrow] = den > 0 ? (M + std::log2(den)) * 0.6931471805599453f : -INFINITY;
        }
    }
  merge_splits(ws_o, ws_lse, splits, nrows_all, P.D, &res);
  return res;
}

// float64 reference (docs/design.md, Data conventions), on the rounded inputs.
inline void reference(const Problem& P, std::vector<double>* out, std::vector<double>* lse) {
  out->assign(size_t(P.B) * P.Hq * P.Sq * P.D, 0.0);
  lse->assign(size_t(P.B) * P.Hq * P.Sq, -INFINITY);
  const int group = P.Hq / P.Hkv;
  std::vector<double> s(P.Sk);
  for (int b = 0; b < P.B; ++b) {
    const int L = P.kv_len.empty() ? P.Sk : P.kv_len[b];
    for (int h = 0; h < P.Hq; ++h)
      for (int i = 0; i < P.Sq; ++i) {
        double m = -INFINITY;
        for (int j = 0; j < P.Sk; ++j) {
          s[j] = -INFINITY;
          if (j >= L || (P.causal && j > i + L - P.Sq)) continue;
          double acc = 0;
          for (int d = 0; d < P.D; ++d)
            acc += double(P.q[((b * P.Hq + h) * P.Sq + i) * P.D + d]) * P.k[((b * P.Hkv + h / group) * P.Sk + j) * P.D + d];
          acc *= P.scale;
          if (P.softcap > 0) acc = P.softcap * std::tanh(acc / P.softcap);
          if (!P.mask.empty()) acc += P.mask[((b * P.Hq + h) * P.Sq + i) * P.Sk + j];
          s[j] = acc;
          m = std::max(m, acc);
        }
        if (m == -INFINITY) continue;
        double l = 0;
        for (int j = 0; j < P.Sk; ++j) l += s[j] == -INFINITY ? 0.0 : std::exp(s[j] - m);
        const int64_t r = (int64_t(b) * P.Hq + h) * P.Sq + i;
        (*lse)[r] = m + std::log(l);
        for (int d = 0; d < P.D; ++d) {
          double acc = 0;
          for (int j = 0; j < P.Sk; ++j)
            if (s[j] != -INFINITY) acc += std::exp(s[j] - m) * P.v[((b * P.Hkv + h / group) * P.Sk + j) * P.D + d];
          (*out)[r * P.D + d] = acc / l;
        }
      }
  }
}

// ---- shared by the kernel emulations (sm80, decode, sm90) ----------------------------------------
struct EmuSpec {
  int B, Hq, Hkv, Sq, Sk, D;
  bool causal;
  float softcap;
  bool mask, kvl;
  int splits;
  bool bf16;
  bool bshd = false;  // sm90: q / k / v laid out [B, S, H, D]
};

// q, k, v normal values rounded to the 16-bit type; kvLengths Sk * 2 / 3 for batch 0 and 5 (0 when
// Sk < 10) after; a mask with 15% -inf and the rest in [-3, 1). nan_padding: the keys past each
// kvLength hold NaN / Inf (an uninitialized cache), which must not reach any output.
inline Problem make_problem(const EmuSpec& sp, std::mt19937& rng, bool nan_padding) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_real_distribution<float> ud(0.0f, 1.0f);
  Problem P{sp.B, sp.Hq, sp.Hkv, sp.Sq, sp.Sk, sp.D, sp.causal, 1.0f / std::sqrt(float(sp.D)), sp.softcap, {}, {}, {}, {}, {}};
  auto gen = [&](std::vector<float>& x, size_t n) {
    x.resize(n);
    for (float& e : x) e = rnd16(nd(rng), sp.bf16);
  };
  gen(P.q, size_t(P.B) * P.Hq * P.Sq * P.D);
  gen(P.k, size_t(P.B) * P.Hkv * P.Sk * P.D);
  gen(P.v, size_t(P.B) * P.Hkv * P.Sk * P.D);
  if (sp.kvl) {
    for (int b = 0; b < P.B; ++b) P.kv_len.push_back(b == 0 ? P.Sk * 2 / 3 : (P.Sk < 10 ? 0 : 5));
    if (nan_padding)
      for (int b = 0; b < P.B; ++b)
        for (int h = 0; h < P.Hkv; ++h)
          for (int j = P.kv_len[b]; j < P.Sk; ++j)
            for (int d = 0; d < P.D; ++d) {
              const size_t o = ((size_t(b) * P.Hkv + h) * P.Sk + j) * P.D + d;
              P.k[o] = (j + d) % 2 ? NAN : INFINITY, P.v[o] = (j + d) % 2 ? INFINITY : NAN;
            }
  }
  if (sp.mask) {
    P.mask.resize(size_t(P.B) * P.Hq * P.Sq * P.Sk);
    for (float& e : P.mask) e = ud(rng) < 0.15f ? -INFINITY : ud(rng) * 4 - 3;
  }
  return P;
}

// Checks an emulation's output against the float64 reference: every element finite and within `tol`
// (absolute), each LSE within lse_rel (relative), -inf where no key is visible.
inline void expect_reference(Ctx& c, const char* kernel, const EmuSpec& sp, const Problem& P, const EmuOut& got, double tol, double lse_rel,
                             const char* bound) {
  std::vector<double> ref, rlse;
  reference(P, &ref, &rlse);
  double worst = 0;
  bool finite = true, lse_ok = true;
  for (size_t i = 0; i < ref.size(); ++i) {
    finite = finite && std::isfinite(got.out[i]);
    worst = std::max(worst, std::abs(got.out[i] - ref[i]) / tol);
  }
  for (size_t r = 0; r < rlse.size(); ++r) {
    if (rlse[r] == -INFINITY)
      lse_ok = lse_ok && got.lse[r] == -INFINITY;
    else
      lse_ok = lse_ok && std::abs(got.lse[r] - rlse[r]) <= lse_rel * (1 + std::abs(rlse[r]));
  }
  const std::string name = std::string("attention ") + kernel + " emulation B" + std::to_string(sp.B) + " H" + std::to_string(sp.Hq) + "/" +
                           std::to_string(sp.Hkv) + " " + std::to_string(sp.Sq) + "x" + std::to_string(sp.Sk) + " D" +
                           std::to_string(sp.D) + (sp.causal ? " causal" : "") + (sp.mask ? " mask" : "") + (sp.kvl ? " kvLengths" : "") +
                           (sp.softcap > 0 ? " softcap" : "") + " splits=" + std::to_string(sp.splits) + (sp.bf16 ? " bf16" : " f16") +
                           (sp.bshd ? " bshd" : "");
  c.expect(finite && worst <= 1.0, name + ": out within " + bound + " (worst error/tolerance " + std::to_string(worst) + ")");
  c.expect(lse_ok, name + ": lse");
}

inline void check_emulation(Ctx& c, std::mt19937& rng) {
  const EmuSpec specs[] = {
      {1, 2, 2, 37, 53, 64, false, 0, false, false, 1, false},   // ragged rows and keys, cfg64
      {1, 4, 2, 30, 70, 32, true, 0, false, false, 1, true},     // GQA packing, causal, bf16
      {2, 2, 1, 20, 45, 24, true, 0, false, true, 1, false},     // padded head dim, kvLengths + causal
      {1, 2, 2, 9, 40, 16, false, 3.0f, true, false, 1, false},  // softcap + additive mask with -inf
      {1, 4, 1, 1, 300, 128, false, 0, false, true, 3, false},   // decode: split-KV + merge, cfg128
      {1, 2, 1, 2, 100, 200, true, 0, false, false, 2, true},    // cfg256, splits, causal decode
      {1, 1, 1, 100, 30, 32, true, 0, false, false, 1, false},   // rows with no visible key
  };
  for (const EmuSpec& sp : specs) {
    const Problem P = make_problem(sp, rng, false);
    const A::TileConfig& cfg = A::padded_head_dim(P.D) == 32    ? A::kCfg32
                               : A::padded_head_dim(P.D) == 64  ? A::kCfg64
                               : A::padded_head_dim(P.D) == 128 ? A::kCfg128
                                                                : A::kCfg256;
    // P is rounded to the 16-bit type before P V: relative 2^-8 (bf16) / 2^-11 (f16) of sum p |v|.
    const double rel = sp.bf16 ? 1.0 / 128 : 1.0 / 1024;
    expect_reference(c, "sm80", sp, P, emulate(P, cfg, sp.splits, sp.bf16), rel * 4.0 + 1e-6, 1e-4, "the 16-bit P bound");
  }
}

inline void check_decode_emulation(Ctx& c, std::mt19937& rng) {
  const EmuSpec specs[] = {
      {2, 2, 2, 1, 300, 128, false, 0, false, false, 1, false},  // MHA decode, two tiles + a ragged one
      {1, 8, 1, 1, 200, 128, false, 0, false, true, 3, true},    // GQA group 8, kvLengths, splits, bf16
      {1, 4, 2, 3, 150, 64, true, 0, false, false, 2, false},    // Sq 3 x group 2, causal, splits
      {1, 4, 1, 3, 130, 32, true, 0, false, true, 1, false},     // 12 rows: two row chunks, kvLengths + causal
      {1, 2, 2, 8, 40, 256, true, 2.5f, true, false, 1, true},   // Sq 8, cfg256 (lpk 4), softcap + mask
      {1, 2, 1, 2, 70, 80, false, 0, true, false, 4, false},     // padded head dim, mask, more splits than tiles
      {2, 1, 1, 5, 9, 16, true, 0, false, true, 2, false},       // tiny: empty batch entry (kvLength 5 / 5)
  };
  for (const EmuSpec& sp : specs) {
    const Problem P = make_problem(sp, rng, false);
    // fp32 throughout on the 16-bit k / v (no P rounding): a few ulps of float32 times the terms
    expect_reference(c, "decode", sp, P, emulate_decode(P, sp.splits, sp.bf16), 2e-5, 1e-5, "fp32 rounding");
  }
}

inline void run(Ctx c, std::mt19937& rng) {
  attention_cuda_checks::check_fragments(c);
  attention_cuda_checks::check_ranges(c);
  attention_cuda_checks::check_emulation(c, rng);
  attention_cuda_checks::check_decode_layout(c);
  attention_cuda_checks::check_decode_emulation(c, rng);
}

}  // namespace attention_cuda_checks
