// Host checks of lutMatmul (native/ops/lut): the CUDA kernel's per-thread code (lut_cuda_layout.h)
// emulated over the whole grid -- every CTA, every thread, phase by phase with the kernel's barriers --
// and the CPU op (the active ISA's kernel: NEON under scripts/neon-check.sh), both against the
// contract in float64 (x . q * s, the quantizer's q read back from the planes) within docs/lut.md's
// bound, on odd shapes, group tails, more than one chunk / CTA / token tile, bfloat16 x and the
// epilogue with c = out. Included by selftest.cc.
#pragma once
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../core/half.h"
#include "../ops/lut/lut.h"
#include "../ops/lut/lut_cuda_layout.h"
#include "test_views.h"

namespace lut_cuda_checks {

namespace L = tk::culut;
using gemm_cuda_checks::Ctx;
using tk_test::absent;
using tk_test::view;

// q[n, k] read back from the planes (lut.h layout).
inline int q_of(const std::vector<uint32_t>& planes, const tk::LutLayout& Ly, int64_t n, int64_t k) {
  const int64_t g = k / Ly.gs, kk = k - g * Ly.gs, qi = g * Ly.Qg + kk / 4;
  const int bit = int(kk % 4) + 4 * int(qi % 8);
  int u = 0;
  for (int p = 0; p < Ly.bits; ++p) u |= int((planes[(((n / 16) * Ly.KC + qi / 8) * Ly.bits + p) * 16 + n % 16] >> bit) & 1u) << p;
  return Ly.bits == 1 ? 2 * u - 1 : u - (1 << (Ly.bits - 1));
}

inline void check_shape(Ctx& c, std::mt19937& rng, int64_t M, int64_t N, int64_t K, int64_t gs, int bits, bool bf16, bool epi) {
  const std::string name = "lut M=" + std::to_string(M) + " N=" + std::to_string(N) + " K=" + std::to_string(K) +
                           " gs=" + std::to_string(gs) + " b=" + std::to_string(bits) + (bf16 ? " bf16" : "") + (epi ? " epilogue" : "");
  std::uniform_real_distribution<float> U(-1.0f, 1.0f);
  std::vector<float> w(size_t(N * K));
  for (auto& v : w) v = U(rng);
  tk::LutLayout Ly;
  if (!Ly.init(N, K, bits, gs)) {
    c.expect(false, name + ": layout");
    return;
  }
  std::vector<uint32_t> planes(size_t(Ly.plane_bytes() / 4 + 1));
  std::vector<float> scales(size_t(Ly.scale_count() + 1));
  tk::LutQuantizeParams qp;
  qp.w = view(w.data(), tk::DType::kFloat32, {N, K});
  qp.planes = view(planes.data(), tk::DType::kInt8, {Ly.plane_bytes()});
  qp.scales = view(scales.data(), tk::DType::kFloat32, {Ly.scale_count()});
  qp.bits = bits, qp.group_size = gs;
  tk::LutLayout L2;
  tk::Status st = tk::lut_quantize_validate(qp, &L2);
  if (st.ok()) st = tk::lut_quantize(qp, L2);
  c.expect(st.ok(), name + ": quantize runs");
  // x (float32 or bfloat16) and its exact values.
  std::vector<float> xf(size_t(M * K));
  std::vector<uint16_t> xb(size_t(M * K));
  std::vector<double> xv(size_t(M * K));
  for (size_t i = 0; i < xf.size(); ++i) {
    xf[i] = U(rng);
    xb[i] = tk::f32_to_bf16(xf[i]);
    xv[i] = bf16 ? double(tk::bf16_to_f32(xb[i])) : double(xf[i]);
  }
  std::vector<float> bias(static_cast<size_t>(N) + 0), cin(size_t(M * N));
  for (auto& v : bias) v = U(rng);
  for (auto& v : cin) v = U(rng);
  const float alpha = epi ? 0.5f : 1.0f, beta = epi ? -2.0f : 0.0f;
  // The float64 contract and its bound.
  std::vector<double> ref(size_t(M * N)), bound(size_t(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = 0, A = 0;
      for (int64_t g = 0; g < Ly.G; ++g) {
        const double s = scales[size_t(((n / 16) * Ly.G + g) * 16 + n % 16)];
        double d = 0, ax = 0;
        for (int64_t k = g * gs; k < K && k < (g + 1) * gs; ++k) {
          d += xv[m * K + k] * q_of(planes, Ly, n, k);
          ax += std::fabs(xv[m * K + k]);
        }
        acc += d * s;
        A += s * double(1 << bits) * ax;
      }
      const double b = epi ? bias[n] : 0.0, cc = epi ? double(beta) * cin[m * N + n] : 0.0;
      ref[m * N + n] = alpha * acc + b + cc;
      bound[m * N + n] = std::ldexp(1.0, -23) * double(Ly.Qg * bits + Ly.G + 8) * std::fabs(alpha) * A +
                         std::ldexp(1.0, -22) * (std::fabs(alpha * acc) + std::fabs(b) + std::fabs(cc));
    }
  auto within = [&](const std::vector<float>& y) {
    for (size_t i = 0; i < ref.size(); ++i)
      if (!(std::fabs(double(y[i]) - ref[i]) <= bound[i])) return false;
    return true;
  };
  tk::MatmulEpilogue e;
  e.alpha = alpha, e.beta = beta, e.N = N;
  // CUDA emulation: out = c (in place) when the epilogue reads c.
  std::vector<float> ye(size_t(M * N), 0.0f);
  if (epi) ye = cin;
  e.bias = epi ? bias.data() : nullptr;
  e.c = epi ? ye.data() : nullptr;
  L::KArgs a;
  a.planes = planes.data(), a.scales = scales.data();
  a.x = bf16 ? static_cast<const void*>(xb.data()) : static_cast<const void*>(xf.data());
  a.x_bf16 = bf16;
  a.M = M, a.N = N, a.K = K, a.gs = gs, a.G = Ly.G, a.Qg = Ly.Qg, a.KQ = Ly.KQ, a.KC = Ly.KC, a.bits = bits;
  a.epi = e;
  a.out = ye.data();
  std::vector<float> tab(L::kTableFloats);
  std::vector<L::ThreadState> sts(L::kThreads);
  for (int64_t n0 = 0; n0 < N; n0 += L::kThreads)
    for (int64_t m0 = 0; m0 < M; m0 += L::kTokens) {
      for (auto& s : sts) L::init_state(s, a);
      for (int64_t q0 = 0; q0 < Ly.KQ; q0 += L::kChunk) {
        std::fill(tab.begin(), tab.end(), NAN);  // a table entry a thread forgot to build poisons the result
        for (int tid = 0; tid < L::kThreads; ++tid) L::build_tables(a, tid, q0, m0, tab.data());
        for (int tid = 0; tid < L::kThreads; ++tid) L::consume(a, tid, n0, q0, tab.data(), sts[size_t(tid)]);
      }
      for (int tid = 0; tid < L::kThreads; ++tid) L::finish(a, tid, n0, m0, sts[size_t(tid)]);
    }
  c.expect(within(ye), name + ": cuda emulation within the contract's bound");
  // The CPU op (same c = out aliasing).
  std::vector<float> yc(size_t(M * N), 7.0f);
  if (epi) yc = cin;
  tk::LutParams p;
  p.N = N;
  p.x = bf16 ? view(xb.data(), tk::DType::kBFloat16, {M, K}) : view(xf.data(), tk::DType::kFloat32, {M, K});
  p.planes = qp.planes, p.scales = qp.scales;
  p.out = view(yc.data(), tk::DType::kFloat32, {M, N});
  p.bias = epi ? view(bias.data(), tk::DType::kFloat32, {N}) : absent();
  p.c = epi ? p.out : absent();
  p.alpha = alpha, p.beta = beta, p.bits = bits, p.group_size = gs;
  st = tk::lut_matmul(p);
  c.expect(st.ok(), name + ": cpu lut runs");
  c.expect(within(yc), name + ": cpu lut (" + tk::lut_last_kernel("cpu") + ") within the contract's bound");
}

inline void run(Ctx c, std::mt19937& rng) {
  check_shape(c, rng, 1, 33, 37, 8, 1, false, false);
  check_shape(c, rng, 3, 17, 130, 64, 2, true, true);
  check_shape(c, rng, 5, 70, 600, 128, 3, false, true);  // two CTAs of rows, two token tiles, 3 chunks
  check_shape(c, rng, 6, 20, 21, 6, 4, true, false);
  check_shape(c, rng, 9, 129, 300, 32, 2, false, true);
  check_shape(c, rng, 2, 16, 0, 4, 2, false, true);  // K = 0: the epilogue alone
}

}  // namespace lut_cuda_checks
