// Host checks of the CUDA int8mm kernels (native/ops/int8mm/int8mm_cuda.cu), for machines without a
// GPU: the copy slots cover each stage tile once, the accumulator slots cover the CTA tile once, the
// mma fragments (gemm_cuda_layout.h's frag_a / frag_b / frag_c) gathered from every lane fill the
// m16n8k32 operands exactly once, and an emulation of the whole pipeline (scan, compact, quantize,
// outlier part, every CTA / warp / lane of the tensor-core kernel with the kernel's shared-memory
// staging, bounds tests and epilogue) against the CPU op (tk::int8mm) on odd shapes: the quantized
// activations bit for bit, the outputs bit for bit without outliers and within the float32 bound of
// the outlier part's summation order with them. Included by selftest.cc.
#pragma once
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "../ops/int8mm/int8mm.h"
#include "../ops/int8mm/int8mm_cuda_layout.h"
#include "../ops/int8mm/int8mm_quant.h"
#include "test_views.h"

namespace int8mm_cuda_checks {

namespace L = tk::cuint8mm;
using gemm_cuda_checks::Ctx;
using tk_test::view;

void check_slots(Ctx& c) {
  std::set<int> loads, accs;
  for (int tid = 0; tid < L::kThreads; ++tid) {
    const L::RowCol s = L::load_slot(tid);
    for (int b = 0; b < 16; ++b) loads.insert(s.row * L::kBK + s.col + b);
    for (int mi = 0; mi < L::kMI; ++mi)
      for (int ni = 0; ni < L::kNI; ++ni)
        for (int e = 0; e < 4; ++e) {
          const L::RowCol a = L::acc_at(tid >> 5, tid & 31, mi, ni, e);
          accs.insert(a.row * L::kBN + a.col);
        }
  }
  c.expect(int(loads.size()) == L::kBM * L::kBK && *loads.rbegin() == L::kBM * L::kBK - 1,
           "int8mm cuda: copy slots cover a stage tile once");
  c.expect(int(accs.size()) == L::kBM * L::kBN && *accs.rbegin() == L::kBM * L::kBN - 1,
           "int8mm cuda: accumulator slots cover the tile once");
  // Every (row, k) of an m16n8k32 A block and (n, k) of its B block held by exactly one (lane, register, byte).
  std::vector<int> a(16 * 32, 0), b(8 * 32, 0);
  for (int lane = 0; lane < 32; ++lane) {
    for (int r = 0; r < 4; ++r)
      for (int i = 0; i < 4; ++i) ++a[tk::cugemm::frag_a(lane, r).row * 32 + tk::cugemm::frag_a(lane, r).col + i];
    for (int r = 0; r < 2; ++r)
      for (int i = 0; i < 4; ++i) ++b[tk::cugemm::frag_b(lane, r).row * 32 + tk::cugemm::frag_b(lane, r).col + i];
  }
  bool once = true;
  for (int v : a) once = once && v == 1;
  for (int v : b) once = once && v == 1;
  c.expect(once, "int8mm cuda: fragments cover the m16n8k32 operands once");
}

struct Data {
  int64_t M, N, K;
  std::vector<float> x, sw, bias, cm;
  std::vector<int8_t> w;
  float thr, alpha, beta;
  bool use_bias, use_c;
};

// The GPU pipeline, emulated; returns out [M, N] and fills qa / sx.
std::vector<float> emulate(const Data& d, std::vector<int8_t>* qa_out, std::vector<float>* sx_out, int64_t* n_out) {
  const int64_t M = d.M, N = d.N, K = d.K, Kp = L::padded_k(K);
  // scan + compact
  std::vector<int32_t> flag(K, 0), cols;
  uint32_t tb;
  std::memcpy(&tb, &d.thr, sizeof tb);
  const bool scan = !std::isinf(d.thr);
  if (scan)
    for (int64_t i = 0; i < M * K; ++i) {
      const uint32_t bb = L::abs_bits(d.x[i]);
      if (bb >= tb && bb <= 0x7f800000u) flag[i % K] = 1;
    }
  for (int64_t k = 0; k < K; ++k)
    if (flag[k]) cols.push_back(int32_t(k));
  *n_out = int64_t(cols.size());
  // quantize
  std::vector<int8_t> qa(M * Kp);
  std::vector<float> sx(M);
  for (int64_t m = 0; m < M; ++m) {
    uint32_t mb = 0;
    for (int64_t k = 0; k < K; ++k)
      if (!flag[k]) mb = std::max(mb, L::abs_bits(d.x[m * K + k]));
    sx[m] = L::row_scale(mb);
    for (int64_t k = 0; k < Kp; ++k) qa[m * Kp + k] = k < K && !flag[k] ? L::quant(d.x[m * K + k], sx[m]) : int8_t(0);
  }
  // outlier part
  std::vector<float> o(cols.empty() ? 0 : M * N);
  for (int64_t i = 0; i < int64_t(o.size()); ++i) {
    const int64_t m = i / N, n = i % N;
    float acc = 0.0f;
    for (int32_t j : cols) acc = L::outlier_step(acc, d.x[m * K + j], d.w[n * K + j], d.sw[n]);
    o[i] = acc;
  }
  // the tensor-core kernel: every CTA, k-step, warp, lane
  tk::MatmulEpilogue epi;
  epi.alpha = d.alpha;
  epi.beta = d.beta;
  epi.N = N;
  epi.bias = d.use_bias ? d.bias.data() : nullptr;
  std::vector<float> out(M * N, 0.0f);
  if (d.use_c) out = d.cm;  // c is out (in place)
  epi.c = d.use_c && d.beta != 0.0f ? out.data() : nullptr;
  const bool w_vec = K % 16 == 0;
  std::vector<uint8_t> sA(L::kBM * L::kRowBytes), sB(L::kBN * L::kRowBytes);
  std::vector<int32_t> acc(L::kThreads * L::kMI * L::kNI * 4);
  for (int64_t m0 = 0; m0 < M; m0 += L::kBM)
    for (int64_t n0 = 0; n0 < N; n0 += L::kBN) {
      std::fill(acc.begin(), acc.end(), 0);
      for (int64_t k0 = 0; k0 < Kp; k0 += L::kBK) {
        for (int tid = 0; tid < L::kThreads; ++tid) {
          const L::RowCol ls = L::load_slot(tid);
          const int64_t am = m0 + ls.row, bn = n0 + ls.row, kb = k0 + ls.col;
          uint8_t av[16] = {}, bv[16] = {};
          if (am < M) std::memcpy(av, qa.data() + am * Kp + kb, 16);
          if (bn < N) {
            if (w_vec && kb + 16 <= K)
              std::memcpy(bv, d.w.data() + bn * K + kb, 16);
            else
              for (int i = 0; i < 16; ++i) bv[i] = kb + i < K ? uint8_t(d.w[bn * K + kb + i]) : 0;
          }
          std::memcpy(&sA[L::smem_at(ls.row, ls.col)], av, 16);
          std::memcpy(&sB[L::smem_at(ls.row, ls.col)], bv, 16);
        }
        for (int warp = 0; warp < L::kThreads / 32; ++warp) {
          const L::RowCol wo = L::warp_origin(warp);
          for (int mi = 0; mi < L::kMI; ++mi)
            for (int ni = 0; ni < L::kNI; ++ni) {
              // the warp's registers, gathered into the m16n8k32 operands
              int8_t A[16][32], B[8][32];
              for (int lane = 0; lane < 32; ++lane) {
                for (int r = 0; r < 4; ++r) {
                  const L::RowCol f = tk::cugemm::frag_a(lane, r);
                  std::memcpy(&A[f.row][f.col], &sA[L::smem_at(wo.row + mi * 16 + f.row, f.col)], 4);
                }
                for (int r = 0; r < 2; ++r) {
                  const L::RowCol f = tk::cugemm::frag_b(lane, r);
                  std::memcpy(&B[f.row][f.col], &sB[L::smem_at(wo.col + ni * 8 + f.row, f.col)], 4);
                }
              }
              for (int lane = 0; lane < 32; ++lane)
                for (int e = 0; e < 4; ++e) {
                  const L::RowCol f = tk::cugemm::frag_c(lane, e);
                  int32_t s = 0;
                  for (int k = 0; k < 32; ++k) s += int32_t(A[f.row][k]) * int32_t(B[f.col][k]);
                  acc[(((warp * 32 + lane) * L::kMI + mi) * L::kNI + ni) * 4 + e] += s;
                }
            }
        }
      }
      for (int tid = 0; tid < L::kThreads; ++tid)
        for (int mi = 0; mi < L::kMI; ++mi)
          for (int ni = 0; ni < L::kNI; ++ni)
            for (int e = 0; e < 4; ++e) {
              const L::RowCol cc = L::acc_at(tid >> 5, tid & 31, mi, ni, e);
              const int64_t m = m0 + cc.row, n = n0 + cc.col;
              if (m >= M || n >= N) continue;
              float y = L::scaled(sx[m], d.sw[n], acc[((tid * L::kMI + mi) * L::kNI + ni) * 4 + e]);
              if (!o.empty()) y = L::fadd(y, o[m * N + n]);
              out[m * N + n] = epi(m, n, y);
            }
    }
  *qa_out = qa;
  *sx_out = sx;
  return out;
}

void check_shape(Ctx& c, std::mt19937& rng, int64_t M, int64_t N, int64_t K, float thr, std::vector<int64_t> planted, bool epi) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  Data d;
  d.M = M, d.N = N, d.K = K, d.thr = thr;
  d.x.resize(M * K);
  for (auto& v : d.x) v = nd(rng);
  for (int64_t k : planted)
    for (int64_t m = 0; m < M; m += 2) d.x[m * K + k] *= 30.0f;
  // weights through the contract quantizer (the CPU one), as quantizeWeightsInt8 makes them
  std::vector<float> wf(N * K);
  for (auto& v : wf) v = 0.05f * nd(rng);
  d.w.resize(N * K);
  d.sw.resize(N);
  std::vector<uint8_t> hit(N);
  tk::int8mm_kernels::quant_rows_scalar()(wf.data(), K, 0, N, INFINITY, d.w.data(), d.sw.data(), hit.data());
  d.use_bias = d.use_c = epi;
  d.alpha = epi ? 0.75f : 1.0f;
  d.beta = epi ? -1.5f : 0.0f;
  d.bias.resize(N);
  d.cm.resize(M * N);
  for (auto& v : d.bias) v = nd(rng);
  for (auto& v : d.cm) v = nd(rng);
  const std::string name = "int8mm cuda emulation " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) +
                           (std::isinf(thr) ? " threshold off" : " threshold " + std::to_string(thr)) + (epi ? " epilogue, c = out" : "");
  std::vector<int8_t> qa;
  std::vector<float> sx;
  int64_t nO = 0;
  const std::vector<float> got = emulate(d, &qa, &sx, &nO);
  c.expect(nO == int64_t(std::isinf(thr) ? 0 : planted.size()), name + ": the planted outlier columns");
  // the CPU quantizer on x' gives the same bits
  {
    std::vector<float> xz = d.x;
    if (nO > 0)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t k : planted) xz[m * K + k] = 0.0f;
    std::vector<int8_t> q(M * K);
    std::vector<float> s(M);
    std::vector<uint8_t> h(M);
    tk::int8mm_kernels::quant_rows_scalar()(xz.data(), K, 0, M, INFINITY, q.data(), s.data(), h.data());
    bool same = true;
    for (int64_t m = 0; m < M; ++m) {
      same = same && std::memcmp(&s[m], &sx[m], sizeof(float)) == 0;
      for (int64_t k = 0; k < K; ++k) same = same && q[m * K + k] == qa[m * L::padded_k(K) + k];
    }
    c.expect(same, name + ": quantized activations equal the CPU quantizer's bit for bit");
  }
  // the CPU op
  std::vector<float> out = d.cm;
  tk::Int8MmParams p;
  p.x = view(d.x.data(), tk::DType::kFloat32, {M, K});
  p.w = view(d.w.data(), tk::DType::kInt8, {N, K});
  p.scales = view(d.sw.data(), tk::DType::kFloat32, {N});
  p.threshold = thr;
  p.out = view(out.data(), tk::DType::kFloat32, {M, N});
  p.bias.ndim = -1;
  p.c.ndim = -1;
  if (epi) {
    p.bias = view(d.bias.data(), tk::DType::kFloat32, {N});
    p.c = view(out.data(), tk::DType::kFloat32, {M, N});
    p.alpha = d.alpha;
    p.beta = d.beta;
  }
  tk::Int8MmShape s;
  tk::Status st = tk::int8mm_validate(p, &s);
  if (st.ok()) st = tk::int8mm(p, s);
  c.expect(st.ok(), name + ": the cpu op runs");
  bool ok = true;
  for (int64_t i = 0; i < M * N; ++i) {
    if (nO == 0) {
      ok = ok && std::memcmp(&got[i], &out[i], sizeof(float)) == 0;
    } else {  // the outlier part's float32 sums in another order: (nO + 8) eps of the terms' magnitude
      const int64_t m = i / N, n = i % N;
      double mag =
          std::fabs(double(sx[m]) * d.sw[n]) * 127.0 * 127.0 * double(K) + (epi ? std::fabs(d.bias[n]) + std::fabs(d.beta * d.cm[i]) : 0);
      for (int64_t k : planted) mag += std::fabs(double(d.x[m * K + k]) * d.w[n * K + k] * d.sw[n]);
      ok = ok && std::fabs(double(got[i]) - out[i]) <= double(nO + 8) * std::ldexp(1.0, -24) * mag;
    }
  }
  c.expect(ok, name + (nO == 0 ? ": equals the cpu op bit for bit" : ": matches the cpu op within the float32 bound"));
}

inline void run(Ctx c, std::mt19937& rng) {
  check_slots(c);
  check_shape(c, rng, 1, 1, 1, 6.0f, {}, false);
  check_shape(c, rng, 3, 37, 301, 6.0f, {}, false);
  check_shape(c, rng, 70, 66, 96, 6.0f, {}, true);  // K % 16 == 0: 16-byte weight loads; two CTAs each way
  check_shape(c, rng, 29, 71, 257, 6.0f, {0, 5, 200, 256}, false);
  check_shape(c, rng, 130, 9, 65, 6.0f, {33}, true);
  check_shape(c, rng, 17, 23, 48, INFINITY, {7}, true);
}

}  // namespace int8mm_cuda_checks
