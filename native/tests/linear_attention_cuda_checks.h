// Host checks of the CUDA linear_attention kernel (native/ops/linear_attention/linear_attention_cuda_layout.h),
// for machines without a GPU: the strides validate computes against the layouts' formulas, each step's
// thread slots covering its tile exactly once, the shared-memory regions disjoint and inside the
// allocation, the block-size plan per head dim and shared-memory limit, and the kernel's own CTA
// program (cta_run) run on the host -- every CTA of the grid, every thread of a step in turn, shared
// memory poisoned with NaN at the start of each CTA -- against a float64 loop of the contract on odd
// shapes, for each block size, both layouts, causal and not, state in / out / in place, a strong decay.
// The same data run through the CPU op (tk::linear_attention) too. The sm80 tier (cta_run_tc): the
// mma.sync m16n8k16 fragment slots covering each A / B / C tile exactly once, the warps' tiles covering
// S and O_intra once, its shared-memory layout, and its CTA program run on the host on bfloat16 /
// float16-valued inputs with the mma emulated in float32 on the 16-bit operands, against the float64
// loop with the bound of linear_attention_configs.h (float32 accumulation + one 16-bit rounding of P per
// intra-block term); the largest error seen, relative to each element's magnitude, is printed.
// Included by selftest.cc.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../core/half.h"
#include "../ops/linear_attention/linear_attention.h"
#include "../ops/linear_attention/linear_attention_cuda_layout.h"

namespace linear_attention_cuda_checks {

namespace L = tk::culinattn;

using gemm_cuda_checks::Ctx;  // the checks' reporting, shared (gemm_cuda_checks.h)

void check_slots(Ctx& c) {
  for (int bs : tk::linear_attention_configs::kCudaBlocks)
    for (int width : {1, 5, 8, 20, 32, 33, 64, 100, 128, 256}) {
      std::vector<int> seen(size_t(bs) * width, 0);
      bool inside = true;
      for (int tid = 0; tid < L::kThreads; ++tid)
        for (int r = 0; r < L::tile_rounds(bs, width); ++r) {
          const L::RowCol e = L::tile_slot(tid, r, width);
          if (e.row >= bs) continue;  // the kernel skips these
          inside = inside && e.col >= 0 && e.col < width;
          if (inside) ++seen[size_t(e.row) * width + e.col];
        }
      bool once = inside;
      for (int v : seen) once = once && v == 1;
      c.expect(once, "linear attention cuda: tile slots cover [" + std::to_string(bs) + "][" + std::to_string(width) + "] once");
    }
  for (int rows : {1, 7, 8, 16, 20, 32, 33, 128, 256}) {
    std::vector<int> seen(size_t(rows) * L::kSlice, 0);
    for (int tid = 0; tid < L::kThreads; ++tid)
      for (int r = 0; r < L::row_rounds(rows); ++r) {
        const L::RowCol o = L::row_slot(tid, r);
        if (o.row < rows) ++seen[size_t(o.row) * L::kSlice + o.col];
      }
    bool once = true;
    for (int v : seen) once = once && v == 1;
    c.expect(once, "linear attention cuda: row slots cover " + std::to_string(rows) + " x 32 once");
  }
  for (int bs : tk::linear_attention_configs::kCudaBlocks)
    for (int64_t D : {1, 2, 20, 33, 64, 128, 256}) {
      const L::Smem s = L::smem_layout(bs, D);
      const bool ok = s.ld >= D && s.ld % 2 == 1 && s.q == 0 && s.k == s.q + bs * s.ld && s.v == s.k + bs * s.ld &&
                      s.p == s.v + bs * L::kSlice && s.kv == s.p + bs * (bs + 1) && s.pw == s.kv + D * L::kSlice &&
                      s.total == s.pw + bs + 1 && L::smem_bytes(bs, D) == int64_t(s.total) * 4;
      c.expect(ok, "linear attention cuda: smem regions of bs " + std::to_string(bs) + ", D " + std::to_string(D));
    }
  c.expect(L::pick_block(64, 48 * 1024) == 32, "linear attention cuda: D 64 takes bs 32 within 48 KiB");
  c.expect(L::pick_block(128, 48 * 1024) == 16 && L::pick_block(128, 99 * 1024) == 32,
           "linear attention cuda: D 128 takes bs 16 in 48 KiB, 32 in 99 KiB");
  c.expect(L::pick_block(256, 64 * 1024) == 8 && L::pick_block(256, 99 * 1024) == 16 && L::pick_block(256, 163 * 1024) == 32,
           "linear attention cuda: D 256 takes bs 8 / 16 / 32 on sm_75 / sm_86 / sm_80");
  c.expect(L::pick_block(4096, 227 * 1024) == 0 && L::pick_block(0, 227 * 1024) == 0, "linear attention cuda: D past the limit takes none");
  for (bool bshd : {false, true}) {
    const int64_t H = 3, S = 5, E = 7;
    bool ok = true;
    const L::Strides st = L::layout_strides(bshd, H, S, E);
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t s = 0; s < S; ++s)
          ok = ok && b * st.b + h * st.h + s * st.s == (bshd ? ((b * S + s) * H + h) * E : ((b * H + h) * S + s) * E);
    c.expect(ok, std::string("linear attention cuda: layout strides of ") + (bshd ? "bshd" : "bhsd"));
  }
}

void check_tc_slots(Ctx& c) {
  // A 16 x 16 (4 registers x 2 halves), B 16 x 8 (2 x 2), C 16 x 8 (4): each element once, the two
  // halves of a register adjacent along the dimension ld_pair reads (A: columns, B: k).
  std::vector<int> a(16 * 16), b(16 * 8), cc(16 * 8);
  bool in = true, pairs = true;
  for (int lane = 0; lane < 32; ++lane) {
    for (int r = 0; r < 4; ++r)
      for (int h = 0; h < 2; ++h) {
        const L::RowCol e = L::mma_a_slot(lane, r, h);
        in = in && e.row >= 0 && e.row < 16 && e.col >= 0 && e.col < 16;
        if (in) ++a[e.row * 16 + e.col];
        const L::RowCol e0 = L::mma_a_slot(lane, r, 0);
        pairs = pairs && e.row == e0.row && e.col == e0.col + h && e0.col % 2 == 0;
      }
    for (int r = 0; r < 2; ++r)
      for (int h = 0; h < 2; ++h) {
        const L::RowCol e = L::mma_b_slot(lane, r, h);
        in = in && e.row >= 0 && e.row < 16 && e.col >= 0 && e.col < 8;
        if (in) ++b[e.row * 8 + e.col];
        const L::RowCol e0 = L::mma_b_slot(lane, r, 0);
        pairs = pairs && e.col == e0.col && e.row == e0.row + h && e0.row % 2 == 0;
      }
    for (int r = 0; r < 4; ++r) {
      const L::RowCol e = L::mma_c_slot(lane, r);
      in = in && e.row >= 0 && e.row < 16 && e.col >= 0 && e.col < 8;
      if (in) ++cc[e.row * 8 + e.col];
    }
  }
  auto once = [](const std::vector<int>& v) {
    for (int x : v)
      if (x != 1) return false;
    return true;
  };
  c.expect(in && once(a), "linear attention sm80: mma A fragment slots cover 16 x 16 once");
  c.expect(in && once(b), "linear attention sm80: mma B fragment slots cover 16 x 8 once");
  c.expect(in && once(cc), "linear attention sm80: mma C fragment slots cover 16 x 8 once");
  c.expect(pairs, "linear attention sm80: a register's two halves are adjacent (one 32-bit load)");
  // The PTX ISA's table, restated: lane 5 (g 1, c 1) holds A(1, 2..3), A(9, 2..3), A(1, 10..11), A(9, 10..11);
  // B k 2..3 and 10..11 of column 1; C (1, 2), (1, 3), (9, 2), (9, 3).
  c.expect(L::mma_a_slot(5, 1, 0).row == 9 && L::mma_a_slot(5, 2, 1).col == 11 && L::mma_b_slot(5, 1, 1).row == 11 &&
               L::mma_b_slot(5, 0, 0).col == 1 && L::mma_c_slot(5, 3).row == 9 && L::mma_c_slot(5, 3).col == 3,
           "linear attention sm80: fragment slots of lane 5 as the PTX ISA's tables");
  for (int bs : tk::linear_attention_configs::kCudaTcBlocks) {
    // The warps' tiles (t = warp, warp + kWarps, ..) cover S [bs][bs] and O_intra [bs][32] once.
    for (int which = 0; which < 2; ++which) {
      const int w = which == 0 ? bs : L::kSlice, tiles = which == 0 ? L::qk_tiles(bs) : L::pv_tiles(bs);
      std::vector<int> seen(size_t(bs) * w);
      for (int warp = 0; warp < L::kWarps; ++warp)
        for (int t = warp; t < tiles; t += L::kWarps) {
          const int m0 = t / (w / 8) * 16, n0 = t % (w / 8) * 8;
          for (int lane = 0; lane < 32; ++lane)
            for (int r = 0; r < 4; ++r) {
              const L::RowCol e = L::mma_c_slot(lane, r);
              if (m0 + e.row < bs && n0 + e.col < w) ++seen[size_t(m0 + e.row) * w + n0 + e.col];
            }
        }
      c.expect(once(seen), "linear attention sm80: the warps' tiles cover " + std::string(which == 0 ? "S" : "O_intra") + " of bs " +
                               std::to_string(bs) + " once");
    }
    for (int64_t D : {1, 5, 16, 20, 33, 64, 128, 256}) {
      const L::SmemTc s = L::smem_layout_tc(bs, D);
      const int Dp = L::tc_dpad(D);
      bool ok = Dp % 16 == 0 && Dp >= D && Dp < D + 16 && s.ldh >= Dp && s.ldv >= bs && s.ldp >= bs && s.ldo >= L::kSlice;
      ok = ok && s.kv == 0 && s.o == s.kv + 2 * D * L::kSlice && s.pw == s.o + 2 * bs * s.ldo && s.q == s.pw + 2 * (bs + 1) &&
           s.k == s.q + bs * s.ldh && s.v == s.k + bs * s.ldh && s.p == s.v + L::kSlice * s.ldv && s.total == 2 * (s.p + bs * s.ldp);
      for (int off : {s.o, s.pw, s.q, s.k, s.v, s.p, s.ldh, s.ldv, s.ldp}) ok = ok && off % 2 == 0;  // 4-byte aligned pairs
      // A fragment load of 8 rows x 4 words: 32 different banks for the Q / K, Vt and P strides.
      for (int ld : {s.ldh, s.ldv, s.ldp}) {
        std::set<int> banks;
        for (int lane = 0; lane < 32; ++lane) banks.insert(((lane / 4) * ld / 2 + lane % 4) % 32);
        ok = ok && banks.size() == 32;
      }
      c.expect(ok, "linear attention sm80: smem regions of bs " + std::to_string(bs) + ", D " + std::to_string(D));
      std::vector<int> seen(size_t(bs) * Dp);
      for (int tid = 0; tid < L::kThreads; ++tid)
        for (int r = 0; r < L::tile_rounds(bs, Dp); ++r) {
          const L::RowCol e = L::tile_slot(tid, r, Dp);
          if (e.row < bs) ++seen[size_t(e.row) * Dp + e.col];
        }
      c.expect(once(seen), "linear attention sm80: tile slots cover [" + std::to_string(bs) + "][" + std::to_string(Dp) + "] once");
    }
  }
  c.expect(L::pick_block_tc(128, 48 * 1024) == 32 && L::pick_block_tc(256, 48 * 1024) == 0 && L::pick_block_tc(256, 64 * 1024) == 16 &&
               L::pick_block_tc(256, 99 * 1024) == 32,
           "linear attention sm80: D 128 takes bs 32 in 48 KiB, D 256 none in 48 KiB, bs 16 in 64 KiB, 32 in 99 KiB");
  c.expect(L::pick_block_tc(4096, 227 * 1024) == 0 && L::pick_block_tc(0, 227 * 1024) == 0,
           "linear attention sm80: D past the limit takes none");
}

// The sm80 tier on the host: threads and warps in turn, the mma emulated in float32 on the 16-bit
// operands (their products exact in float32, summed in k order onto the accumulator).
struct HostTcOps {
  bool bf16;
  template <class F>
  void each(F&& f) const {
    for (int tid = 0; tid < L::kThreads; ++tid) f(tid);
  }
  template <class F>
  void warps(F&& f) const {
    for (int w = 0; w < L::kWarps; ++w) f(w);
  }
  uint16_t to16(float x) const { return bf16 ? tk::f32_to_bf16(x) : tk::f32_to_f16(x); }
  float from16(uint16_t h) const { return bf16 ? tk::bf16_to_f32(h) : tk::f16_to_f32(h); }
  template <class LA, class LB, class SC>
  void mma_tile(int ksteps, LA&& la, LB&& lb, SC&& sc) const {
    float acc[32][4] = {};
    for (int ks = 0; ks < ksteps; ++ks) {
      float A[16][16], B[16][8];
      for (int lane = 0; lane < 32; ++lane) {
        for (int r = 0; r < 4; ++r) {
          const uint32_t x = la(lane, ks, r);
          for (int h = 0; h < 2; ++h) {
            const L::RowCol e = L::mma_a_slot(lane, r, h);
            A[e.row][e.col] = from16(uint16_t(x >> (16 * h)));
          }
        }
        for (int r = 0; r < 2; ++r) {
          const uint32_t x = lb(lane, ks, r);
          for (int h = 0; h < 2; ++h) {
            const L::RowCol e = L::mma_b_slot(lane, r, h);
            B[e.row][e.col] = from16(uint16_t(x >> (16 * h)));
          }
        }
      }
      for (int lane = 0; lane < 32; ++lane)
        for (int r = 0; r < 4; ++r) {
          const L::RowCol e = L::mma_c_slot(lane, r);
          float s = acc[lane][r];
          for (int k = 0; k < 16; ++k) s += A[e.row][k] * B[k][e.col];
          acc[lane][r] = s;
        }
    }
    for (int lane = 0; lane < 32; ++lane)
      for (int r = 0; r < 4; ++r) sc(lane, r, acc[lane][r]);
  }
};

// The largest |error| / magnitude seen per tier (printed at the end).
inline double g_worst_simt = 0, g_worst_tc[2] = {0, 0};

struct HostEach {
  template <class F>
  void operator()(F&& f) const {
    for (int tid = 0; tid < L::kThreads; ++tid) f(tid);
  }
};

// Every access range-checked (`bad` set on one out of range), every write counted.
struct HostSrc {
  const std::vector<float>*q, *k, *v, *st;
  bool has_state;
  bool* bad;
  float at(const std::vector<float>* a, int64_t i) const {
    if (i < 0 || i >= int64_t(a->size())) return *bad = true, 0.0f;
    return (*a)[size_t(i)];
  }
  float q_at(int64_t i) const { return at(q, i); }
  float k_at(int64_t i) const { return at(k, i); }
  float v_at(int64_t i) const { return at(v, i); }
  float state_at(int64_t i) const { return at(st, i); }
};
struct HostDst {
  std::vector<float>*o, *st;
  std::vector<int>*ow, *sw;
  bool has_state;
  bool* bad;
  void put(std::vector<float>* a, std::vector<int>* w, int64_t i, float x) const {
    if (i < 0 || i >= int64_t(a->size())) return void(*bad = true);
    (*a)[size_t(i)] = x;
    ++(*w)[size_t(i)];
  }
  void out_at(int64_t i, float x) const { put(o, ow, i, x); }
  void state_at(int64_t i, float x) const { put(st, sw, i, x); }
};

struct Case {
  int64_t B, H, S, D, Dv;
  bool bshd, causal, state_in, state_out, in_place;
  float scale;
  std::vector<float> decay;  // H values
  int t16 = 0;               // q, k, v values: 0 float32, 1 bfloat16, 2 float16 (then the sm80 tier runs too)
};

tk::TensorView view(std::vector<float>& v, std::initializer_list<int64_t> dims) {
  tk::TensorView t;
  (void)tk::make_shape(tk::DType::kFloat32, dims.begin(), int(dims.size()), &t);
  t.data = v.data();
  return t;
}

void check_case(Ctx& c, std::mt19937& rng, const Case& k) {
  const int64_t B = k.B, H = k.H, S = k.S, D = k.D, Dv = k.Dv;
  std::uniform_real_distribution<float> uni(-1, 1);
  std::vector<float> q(B * H * S * D), kk(B * H * S * D), v(B * H * S * Dv), st(B * H * D * Dv);
  for (auto* a : {&q, &kk, &v, &st})
    for (float& e : *a) e = uni(rng);
  const HostTcOps tc{k.t16 == 1};
  if (k.t16)
    for (auto* a : {&q, &kk, &v})
      for (float& e : *a) e = tc.from16(tc.to16(e));
  const std::string name = "linear attention cuda B" + std::to_string(B) + " H" + std::to_string(H) + " S" + std::to_string(S) + " D" +
                           std::to_string(D) + " Dv" + std::to_string(Dv) + (k.bshd ? " bshd" : " bhsd") +
                           (k.causal ? " causal" : " full") + (k.state_in ? " state-in" : "") + (k.state_out ? " state-out" : "") +
                           (k.in_place ? " in-place" : "") +
                           (k.t16 == 1   ? " bf16"
                            : k.t16 == 2 ? " fp16"
                                         : "");
  // The params and the validated shape, as linear_attention_cuda gets them.
  std::vector<float> out(B * H * S * Dv), st_out(st.size()), decay = k.decay;
  tk::LinearAttentionParams pr;
  auto qshape = [&](int64_t E) { return k.bshd ? view(out, {B, S, H, E}) : view(out, {B, H, S, E}); };
  pr.q = qshape(D), pr.q.data = q.data();
  pr.k = qshape(D), pr.k.data = kk.data();
  pr.v = qshape(Dv), pr.v.data = v.data();
  pr.out = qshape(Dv);
  pr.decay = view(decay, {H});
  pr.state_in = view(st, {B, H, D, Dv});
  pr.state_out = view(st_out, {B, H, D, Dv});
  if (!k.state_in) pr.state_in.ndim = -1;
  if (!k.state_out) pr.state_out.ndim = -1;
  pr.causal = k.causal, pr.bshd = k.bshd, pr.scale = k.scale;
  tk::LinearAttentionShape sh;
  const tk::Status vs = tk::linear_attention_validate(pr, &sh);
  c.expect(vs.ok(), name + ": validates (" + vs.message() + ")");
  if (!vs.ok()) return;
  const L::Strides sq = L::layout_strides(k.bshd, H, S, D), sv = L::layout_strides(k.bshd, H, S, Dv);
  c.expect(sh.qb == sq.b && sh.qh == sq.h && sh.qs == sq.s && sh.vb == sv.b && sh.vh == sv.h && sh.vs == sv.s && sh.ob == sv.b &&
               sh.oh == sv.h && sh.os == sv.s,
           name + ": validate's strides are the layout's");
  // The contract in float64, with the magnitudes for the bound.
  std::vector<double> ref(out.size()), mag(out.size()), sref(st.size()), smag(st.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const double lam = k.causal ? double(decay[h]) : 1.0;
      const int64_t bh = b * H + h;
      for (int64_t t = 0; t < S; ++t) {
        const int64_t qo = b * sq.b + h * sq.h + t * sq.s, oo = b * sv.b + h * sv.h + t * sv.s;
        for (int64_t s = 0; s < (k.causal ? t + 1 : S); ++s) {
          const int64_t ko = b * sq.b + h * sq.h + s * sq.s, vo = b * sv.b + h * sv.h + s * sv.s;
          double dot = 0, adot = 0;
          for (int64_t d = 0; d < D; ++d) dot += double(q[qo + d]) * kk[ko + d], adot += std::fabs(double(q[qo + d]) * kk[ko + d]);
          const double w = std::pow(lam, double(t - s)) * k.scale;
          for (int64_t e = 0; e < Dv; ++e) ref[oo + e] += w * dot * v[vo + e], mag[oo + e] += std::fabs(w) * adot * std::fabs(v[vo + e]);
        }
        if (k.state_in) {
          const double w = std::pow(lam, double(t + 1)) * k.scale;
          for (int64_t d = 0; d < D; ++d)
            for (int64_t e = 0; e < Dv; ++e) {
              const double x = double(q[qo + d]) * st[(bh * D + d) * Dv + e];
              ref[oo + e] += w * x, mag[oo + e] += std::fabs(w * x);
            }
        }
      }
      for (int64_t d = 0; d < D; ++d)
        for (int64_t e = 0; e < Dv; ++e) {
          const int64_t i = (bh * D + d) * Dv + e;
          double x = k.state_in ? std::pow(lam, double(S)) * st[i] : 0.0, a = std::fabs(x);
          for (int64_t s = 0; s < S; ++s) {
            const double y =
                std::pow(lam, double(S - 1 - s)) * kk[b * sq.b + h * sq.h + s * sq.s + d] * v[b * sv.b + h * sv.h + s * sv.s + e];
            x += y, a += std::fabs(y);
          }
          sref[i] = x, smag[i] = a;
        }
    }
  auto close = [&](const std::vector<float>& got, const std::vector<double>& want, const std::vector<double>& m, double terms) {
    for (size_t i = 0; i < got.size(); ++i)
      if (!(std::fabs(double(got[i]) - want[i]) <= 2.0 * terms * std::ldexp(1.0, -24) * m[i] + 1e-30)) return false;
    return true;
  };
  for (int bs : tk::linear_attention_configs::kCudaBlocks) {
    const std::string nb = name + " bs " + std::to_string(bs);
    const L::Problem p = L::make_problem(sh, bs, k.causal, k.scale);
    // The grid, one CTA at a time, each with NaN-poisoned shared memory.
    std::vector<float> o(out.size(), 7.0f), so(k.in_place ? std::vector<float>() : std::vector<float>(st.size(), 7.0f)), sin = st;
    std::vector<float>& sdst = k.in_place ? sin : so;
    std::vector<int> ow(o.size()), sw(st.size());
    bool bad = false;
    const HostSrc src{&q, &kk, &v, &sin, k.state_in, &bad};
    const HostDst dst{&o, &sdst, &ow, &sw, k.state_out, &bad};
    std::vector<float> sm(size_t(L::smem_layout(bs, D).total));
    HostEach each;
    for (int64_t bh = 0; bh < B * H; ++bh)
      for (int64_t y = 0; y < L::slices(Dv); ++y) {
        std::fill(sm.begin(), sm.end(), std::numeric_limits<float>::quiet_NaN());
        L::cta_run(each, p, bh, int(y) * L::kSlice, k.causal ? decay[bh % H] : 1.0f, src, dst, sm.data());
      }
    c.expect(!bad, nb + ": every global access in range");
    bool once = true;
    for (int w : ow) once = once && w == 1;
    for (int w : sw) once = once && w == (k.state_out ? 1 : 0);
    c.expect(once, nb + ": every output (and state) element written once");
    const double terms = double(2 * D + 2 * bs + S / bs + 16);
    c.expect(close(o, ref, mag, terms), nb + ": emulated kernel output matches the float64 contract");
    if (k.state_out) c.expect(close(sdst, sref, smag, terms), nb + ": emulated kernel state matches the float64 contract");
    for (size_t i = 0; i < o.size(); ++i)
      if (mag[i] > 0) g_worst_simt = std::max(g_worst_simt, std::fabs(double(o[i]) - ref[i]) / mag[i]);
  }
  // The sm80 tier on 16-bit-valued inputs: float32 accumulation plus one rounding of P per intra term.
  if (k.t16)
    for (int bs : tk::linear_attention_configs::kCudaTcBlocks) {
      const std::string nb = name + " sm80 bs " + std::to_string(bs);
      const L::Problem p = L::make_problem(sh, bs, k.causal, k.scale);
      std::vector<float> o(out.size(), 7.0f), so(k.in_place ? std::vector<float>() : std::vector<float>(st.size(), 7.0f)), sin = st;
      std::vector<float>& sdst = k.in_place ? sin : so;
      std::vector<int> ow(o.size()), sw(st.size());
      bool bad = false;
      const HostSrc src{&q, &kk, &v, &sin, k.state_in, &bad};
      const HostDst dst{&o, &sdst, &ow, &sw, k.state_out, &bad};
      std::vector<float> sm(size_t(L::smem_bytes_tc(bs, D)) / 4);
      for (int64_t bh = 0; bh < B * H; ++bh)
        for (int64_t y = 0; y < L::slices(Dv); ++y) {
          std::fill(sm.begin(), sm.end(), std::numeric_limits<float>::quiet_NaN());
          L::cta_run_tc(tc, p, bh, int(y) * L::kSlice, k.causal ? decay[bh % H] : 1.0f, src, dst, sm.data());
        }
      c.expect(!bad, nb + ": every global access in range");
      bool once = true;
      for (int w : ow) once = once && w == 1;
      for (int w : sw) once = once && w == (k.state_out ? 1 : 0);
      c.expect(once, nb + ": every output (and state) element written once");
      const double terms = double(2 * D + 2 * bs + S / bs + 16), u16 = k.t16 == 1 ? std::ldexp(1.0, -8) : std::ldexp(1.0, -11);
      const double under = k.t16 == 2 ? bs * std::ldexp(1.0, -25) : 0.0;  // float16 P's subnormal spacing, |v| <= 1
      bool ok = true;
      for (size_t i = 0; i < o.size(); ++i) {
        const double err = std::fabs(double(o[i]) - ref[i]);
        ok = ok && err <= (2.0 * terms * std::ldexp(1.0, -24) + u16) * mag[i] + under + 1e-30;
        if (mag[i] > 0) g_worst_tc[k.t16 - 1] = std::max(g_worst_tc[k.t16 - 1], err / mag[i]);
      }
      c.expect(ok, nb + ": emulated sm80 output within float32 accumulation + one 16-bit rounding of P of the float64 contract");
      if (k.state_out) c.expect(close(sdst, sref, smag, terms), nb + ": emulated sm80 state matches the float64 contract");
    }
  // The CPU op on the same data.
  std::vector<float> sin = st;
  if (k.in_place) pr.state_out.data = sin.data();
  pr.state_in.data = sin.data();
  std::fill(out.begin(), out.end(), 7.0f);
  const tk::Status rs = tk::linear_attention(pr);
  c.expect(rs.ok(), name + ": cpu linear_attention runs (" + rs.message() + ")");
  const double terms = double(2 * D + 64 + S / 64 + 16);
  c.expect(close(out, ref, mag, terms), name + ": cpu output matches the float64 contract");
  if (k.state_out) c.expect(close(k.in_place ? sin : st_out, sref, smag, terms), name + ": cpu state matches the float64 contract");
}

inline void run(Ctx c, std::mt19937& rng) {
  check_slots(c);
  check_tc_slots(c);
  // B, H, S, D, Dv, bshd, causal, state in, state out, in place, scale, decay
  check_case(c, rng, {2, 3, 70, 20, 13, false, true, true, true, false, 0.7f, {0.9f, 1.0f, 0.5f}});
  check_case(c, rng, {1, 2, 33, 5, 40, true, true, false, true, false, 1.0f, {0.97f, 0.3f}});   // two value slices, the second partial
  check_case(c, rng, {1, 1, 1, 33, 1, false, true, true, true, true, -1.5f, {0.8f}});           // one token, decode in place
  check_case(c, rng, {2, 2, 45, 16, 33, true, false, true, true, false, 0.25f, {1.0f, 1.0f}});  // non-causal
  check_case(c, rng, {1, 2, 0, 8, 8, false, true, true, true, false, 1.0f, {0.5f, 1.0f}});      // no tokens: state_out = state_in
  check_case(c, rng, {1, 3, 50, 8, 8, true, true, true, true, false, 1.0f, {0.01f, 1e-6f, 1e-30f}});  // decay powers underflow to 0
  check_case(c, rng, {1, 2, 100, 64, 64, false, true, false, false, false, 0.125f, {0.99f, 0.9f}});   // no state at all
  // 16-bit values: the sm80 tier too (odd S, D not a multiple of 16, Dv past one slice, partial blocks)
  check_case(c, rng, {2, 3, 70, 20, 13, false, true, true, true, false, 0.7f, {0.9f, 1.0f, 0.5f}, 1});
  check_case(c, rng, {2, 3, 70, 20, 13, false, true, true, true, false, 0.7f, {0.9f, 1.0f, 0.5f}, 2});
  check_case(c, rng, {1, 2, 53, 33, 40, true, true, false, true, false, 1.0f, {0.97f, 0.3f}, 1});
  check_case(c, rng, {1, 2, 53, 33, 40, true, true, false, true, false, 1.0f, {0.97f, 0.3f}, 2});
  check_case(c, rng, {1, 1, 1, 5, 3, false, true, true, true, true, -1.5f, {0.8f}, 2});            // decode in place
  check_case(c, rng, {1, 2, 45, 16, 33, true, false, true, true, false, 0.25f, {1.0f, 1.0f}, 1});  // non-causal
  check_case(c, rng, {1, 2, 100, 64, 64, false, true, false, false, false, 0.125f, {0.99f, 0.9f}, 1});
  check_case(c, rng, {1, 1, 40, 8, 8, true, true, true, true, false, 1.0f, {1e-6f}, 2});  // decay underflows
  std::printf("  linear attention emulated error, max |got - float64| / magnitude: simt %.3g, sm80 bf16 %.3g, sm80 fp16 %.3g\n",
              g_worst_simt, g_worst_tc[0], g_worst_tc[1]);
}

}  // namespace linear_attention_cuda_checks
