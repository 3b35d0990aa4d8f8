// Host checks of the CUDA linear_attention kernel (native/ops/linear_attention/linear_attention_cuda_layout.h),
// for machines without a GPU: the strides validate computes against the layouts' formulas, each step's
// thread slots covering its tile exactly once, the shared-memory regions disjoint and inside the
// allocation, the block-size plan per head dim and shared-memory limit, and the kernel's own CTA
// program (cta_run) run on the host -- every CTA of the grid, every thread of a step in turn, shared
// memory poisoned with NaN at the start of each CTA -- against a float64 loop of the contract on odd
// shapes, for each block size, both layouts, causal and not, state in / out / in place, a strong decay.
// The same data run through the CPU op (tk::linear_attention) too. Included by selftest.cc.
#pragma once
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../ops/linear_attention/linear_attention.h"
#include "../ops/linear_attention/linear_attention_cuda_layout.h"

namespace linear_attention_cuda_checks {

namespace L = tk::culinattn;

struct Ctx {
  int* failures;
  int* checks;
  void (*fail)(const std::string&);
  void expect(bool ok, const std::string& what) {
    ++*checks;
    if (!ok) fail(what);
  }
};

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
  const std::string name = "linear attention cuda B" + std::to_string(B) + " H" + std::to_string(H) + " S" + std::to_string(S) + " D" +
                           std::to_string(D) + " Dv" + std::to_string(Dv) + (k.bshd ? " bshd" : " bhsd") +
                           (k.causal ? " causal" : " full") + (k.state_in ? " state-in" : "") + (k.state_out ? " state-out" : "") +
                           (k.in_place ? " in-place" : "");
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
  // B, H, S, D, Dv, bshd, causal, state in, state out, in place, scale, decay
  check_case(c, rng, {2, 3, 70, 20, 13, false, true, true, true, false, 0.7f, {0.9f, 1.0f, 0.5f}});
  check_case(c, rng, {1, 2, 33, 5, 40, true, true, false, true, false, 1.0f, {0.97f, 0.3f}});   // two value slices, the second partial
  check_case(c, rng, {1, 1, 1, 33, 1, false, true, true, true, true, -1.5f, {0.8f}});           // one token, decode in place
  check_case(c, rng, {2, 2, 45, 16, 33, true, false, true, true, false, 0.25f, {1.0f, 1.0f}});  // non-causal
  check_case(c, rng, {1, 2, 0, 8, 8, false, true, true, true, false, 1.0f, {0.5f, 1.0f}});      // no tokens: state_out = state_in
  check_case(c, rng, {1, 3, 50, 8, 8, true, true, true, true, false, 1.0f, {0.01f, 1e-6f, 1e-30f}});  // decay powers underflow to 0
  check_case(c, rng, {1, 2, 100, 64, 64, false, true, false, false, false, 0.125f, {0.99f, 0.9f}});   // no state at all
}

}  // namespace linear_attention_cuda_checks
