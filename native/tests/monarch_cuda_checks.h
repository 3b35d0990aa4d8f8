// Host checks of the CUDA monarch kernel's index math (native/ops/monarch/monarch_cuda_layout.h), for
// machines without a GPU: each thread's load slots cover a tile exactly once, its output slots too,
// the shared-memory offsets stay in their arrays, and a host emulation of the whole grid (both stages,
// every CTA, every thread, the same smem staging and bounds tests as the kernel) against the contract's
// formulas in float64 on odd shapes. The same shapes run through the CPU op (tk::monarch) too.
// Included by selftest.cc.
#pragma once
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../ops/monarch/monarch.h"
#include "../ops/monarch/monarch_cuda_layout.h"

namespace monarch_cuda_checks {

namespace L = tk::cumonarch;

using gemm_cuda_checks::Ctx;  // the checks' reporting, shared (gemm_cuda_checks.h)

void check_slots(Ctx& c) {
  std::set<int> loads, outs;
  bool in_smem = true;
  for (int tid = 0; tid < L::kThreads; ++tid) {
    for (int r = 0; r < L::kLoadRounds; ++r) {
      const L::RowCol e = L::load_slot(tid, r);
      loads.insert(e.row * L::kBK + e.col);
      in_smem = in_smem && e.row < L::kBM && e.col < L::kBK && L::smem_a(e.col, e.row) < L::kBK * (L::kBM + L::kPad) &&
                L::smem_b(e.col, e.row) < L::kBK * (L::kBN + L::kPad);
    }
    for (int i = 0; i < L::kTM; ++i)
      for (int j = 0; j < L::kTN; ++j) {
        const L::RowCol o = L::out_slot(tid, i, j);
        outs.insert(o.row * L::kBN + o.col);
        in_smem = in_smem && o.row < L::kBM && o.col < L::kBN;
      }
  }
  c.expect(int(loads.size()) == L::kBM * L::kBK, "monarch cuda: load slots cover the tile once");
  c.expect(int(outs.size()) == L::kBM * L::kBN, "monarch cuda: output slots cover the tile once");
  c.expect(in_smem, "monarch cuda: slots inside the tile and shared arrays");
}

// One launch of monarch_stage_kernel, emulated: every CTA, every thread, staged through "shared" tiles.
// `written` counts the writes per output element.
void emulate_stage(const L::Stage& st, int64_t rows, const std::vector<double>& a, const std::vector<double>& b, std::vector<double>* c,
                   std::vector<int>* written) {
  std::vector<float> As(L::kBK * (L::kBM + L::kPad)), Bs(L::kBK * (L::kBN + L::kPad));
  std::vector<float> acc(size_t(L::kThreads) * L::kTM * L::kTN);
  for (int64_t g = 0; g < st.blocks; ++g)
    for (int64_t m0 = 0; m0 < rows; m0 += L::kBM)
      for (int64_t n0 = 0; n0 < st.N; n0 += L::kBN) {
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t k0 = 0; k0 < st.K; k0 += L::kBK) {
          for (int tid = 0; tid < L::kThreads; ++tid)
            for (int r = 0; r < L::kLoadRounds; ++r) {
              const L::RowCol e = L::load_slot(tid, r);
              const int64_t m = m0 + e.row, n = n0 + e.row, kk = k0 + e.col;
              As[L::smem_a(e.col, e.row)] = m < rows && kk < st.K ? float(a[L::a_index(st, g, m, kk)]) : 0.0f;
              Bs[L::smem_b(e.col, e.row)] = n < st.N && kk < st.K ? float(b[L::b_index(st, g, n, kk)]) : 0.0f;
            }
          for (int tid = 0; tid < L::kThreads; ++tid)
            for (int kk = 0; kk < L::kBK; ++kk)
              for (int i = 0; i < L::kTM; ++i)
                for (int j = 0; j < L::kTN; ++j)
                  acc[(tid * L::kTM + i) * L::kTN + j] +=
                      As[L::smem_a(kk, L::out_slot(tid, i, 0).row)] * Bs[L::smem_b(kk, L::out_slot(tid, 0, j).col)];
        }
        for (int tid = 0; tid < L::kThreads; ++tid)
          for (int i = 0; i < L::kTM; ++i)
            for (int j = 0; j < L::kTN; ++j) {
              const L::RowCol o = L::out_slot(tid, i, j);
              const int64_t m = m0 + o.row, n = n0 + o.col;
              if (m < rows && n < st.N) {
                const int64_t ci = L::c_index(st, g, m, n);
                (*c)[ci] = acc[(tid * L::kTM + i) * L::kTN + j];
                ++(*written)[ci];
              }
            }
      }
}

void check_shape(Ctx& c, std::mt19937& rng, int64_t batch, int64_t k, int64_t q, int64_t p, int64_t l, int64_t s, int64_t r) {
  const int64_t n = k * p, kq = k * q, ls = l * s;
  std::uniform_real_distribution<float> uni(-1, 1);
  std::vector<double> x(batch * n), w1(k * q * p), w2(l * s * r);
  for (auto* v : {&x, &w1, &w2})
    for (double& e : *v) e = uni(rng);
  // The contract, in float64, with the magnitude sums for the tolerance.
  std::vector<double> u(batch * kq), ua(batch * kq), y(batch * ls), ya(batch * ls);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < q; ++j)
        for (int64_t t = 0; t < p; ++t) {
          const double v = w1[(i * q + j) * p + t] * x[b * n + i * p + t];
          u[b * kq + i * q + j] += v;
          ua[b * kq + i * q + j] += std::fabs(v);
        }
    for (int64_t a = 0; a < l; ++a)
      for (int64_t d = 0; d < s; ++d)
        for (int64_t cc = 0; cc < r; ++cc) {
          const double w = w2[(a * s + d) * r + cc];
          y[b * ls + d * l + a] += w * u[b * kq + cc * l + a];
          ya[b * ls + d * l + a] += std::fabs(w) * ua[b * kq + cc * l + a];
        }
  }
  const std::string name = "monarch batch " + std::to_string(batch) + " k" + std::to_string(k) + " q" + std::to_string(q) + " p" +
                           std::to_string(p) + " l" + std::to_string(l) + " s" + std::to_string(s) + " r" + std::to_string(r);
  const double tol = double(p + r + 8) * std::ldexp(1.0, -24);
  auto close = [&](const std::vector<double>& got) {
    for (size_t i = 0; i < got.size(); ++i)
      if (std::fabs(got[i] - y[i]) > tol * ya[i] + 1e-30) return false;
    return true;
  };
  // The CUDA grid, emulated.
  std::vector<double> ue(batch * kq), ye(batch * ls);
  std::vector<int> wu(batch * kq), wy(batch * ls);
  emulate_stage(L::stage1(n, k, q, p), batch, x, w1, &ue, &wu);
  emulate_stage(L::stage2(l, s, r), batch, ue, w2, &ye, &wy);
  bool once = true;
  for (int v : wu) once = once && v == 1;
  for (int v : wy) once = once && v == 1;
  c.expect(once, name + ": cuda emulation writes every element of u and y once");
  c.expect(close(ye), name + ": cuda emulation matches the float64 contract");
  // The CPU op on the same data.
  std::vector<float> xf(x.begin(), x.end()), w1f(w1.begin(), w1.end()), w2f(w2.begin(), w2.end()), yf(batch * ls, 7.0f);
  tk::MonarchParams mp;
  auto view = [](std::vector<float>& v, std::initializer_list<int64_t> dims) {
    tk::TensorView t;
    (void)tk::make_shape(tk::DType::kFloat32, dims.begin(), int(dims.size()), &t);
    t.data = v.data();
    return t;
  };
  mp.x = view(xf, {batch, n});
  mp.w1 = view(w1f, {k, q, p});
  mp.w2 = view(w2f, {l, s, r});
  mp.out = view(yf, {batch, ls});
  const tk::Status st = tk::monarch(mp);
  c.expect(st.ok(), name + ": cpu monarch runs");
  c.expect(close(std::vector<double>(yf.begin(), yf.end())), name + ": cpu monarch matches the float64 contract");
}

inline void run(Ctx c, std::mt19937& rng) {
  check_slots(c);
  check_shape(c, rng, 1, 3, 5, 4, 5, 6, 3);
  check_shape(c, rng, 7, 4, 6, 7, 8, 5, 3);
  check_shape(c, rng, 33, 2, 9, 33, 3, 17, 6);
  check_shape(c, rng, 70, 2, 70, 20, 14, 65, 10);  // more than one CTA in every grid dimension but z
  check_shape(c, rng, 130, 2, 3, 40, 2, 5, 3);     // K past one kBK step, rows past two CTAs
}

}  // namespace monarch_cuda_checks
