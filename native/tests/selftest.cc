// Native self-test: the kernels without Node, against float64 references, on every kernel family
// the CPU (or emulator) can run. Used where the JS suite cannot go: cross-compiled for AArch64 and
// run under qemu (scripts/neon-check.sh), and as a quick check of a CMake build.
//   tk_selftest [--quick]   exit status 0 when every check passes
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/half.h"
#include "../core/thread_pool.h"
#include "../ops/attention/attention.h"
#include "../ops/cast/cast.h"
#include "../ops/gemm/gemm.h"
#include "../ops/spmm/spmm.h"
#include "../ops/w4a4/w4a4.h"
#include "gemm_cuda_checks.h"
#include "linear_attention_cuda_checks.h"
#include "monarch_cuda_checks.h"
#include "int8mm_cuda_checks.h"
#include "lut_cuda_checks.h"
#include "bitmm_cuda_checks.h"
#include "spmm_cuda_checks.h"
#include "w4a4_cuda_checks.h"
#include "attention_cuda_checks.h"
#include "attention_sm90_checks.h"
#include "thread_pool_checks.h"
#include "host_pool_checks.h"
#include "test_views.h"

namespace {

int g_failures = 0, g_checks = 0;

void fail(const std::string& what) {
  ++g_failures;
  std::printf("FAIL %s\n", what.c_str());
}

using tk_test::absent;
using tk_test::view;

struct Case {
  int64_t M, N, K;
  bool ta, tb;
  tk::DType dt;
  bool c, bias;
  float alpha, beta;
};

double value_of(tk::DType dt, const std::vector<uint8_t>& raw, int64_t i) {
  switch (dt) {
    case tk::DType::kFloat16: return tk::f16_to_f32(reinterpret_cast<const uint16_t*>(raw.data())[i]);
    case tk::DType::kBFloat16: return tk::bf16_to_f32(reinterpret_cast<const uint16_t*>(raw.data())[i]);
    case tk::DType::kInt8: return reinterpret_cast<const int8_t*>(raw.data())[i];
    default: return reinterpret_cast<const float*>(raw.data())[i];
  }
}

std::vector<uint8_t> random_raw(tk::DType dt, int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_int_distribution<int> i8(-128, 127);
  const size_t el = dt == tk::DType::kInt8 ? 1 : dt == tk::DType::kFloat32 ? 4 : 2;
  std::vector<uint8_t> raw(size_t(n) * el);
  for (int64_t i = 0; i < n; ++i) {
    if (dt == tk::DType::kInt8)
      reinterpret_cast<int8_t*>(raw.data())[i] = static_cast<int8_t>(i8(rng));
    else if (dt == tk::DType::kFloat32)
      reinterpret_cast<float*>(raw.data())[i] = u(rng);
    else if (dt == tk::DType::kFloat16)
      reinterpret_cast<uint16_t*>(raw.data())[i] = tk::f32_to_f16(u(rng));
    else
      reinterpret_cast<uint16_t*>(raw.data())[i] = tk::f32_to_bf16(u(rng));
  }
  return raw;
}

void check_gemm(const Case& cs, const char* isa, std::mt19937& rng) {
  const bool int8 = cs.dt == tk::DType::kInt8;
  std::vector<uint8_t> a = random_raw(cs.dt, cs.M * cs.K, rng), b = random_raw(cs.dt, cs.K * cs.N, rng);
  std::vector<float> cf(size_t(cs.M * cs.N)), bf(size_t(cs.N)), of(size_t(cs.M * cs.N), -7.0f);
  std::vector<int32_t> ci(size_t(cs.M * cs.N)), bi(size_t(cs.N)), oi(size_t(cs.M * cs.N), -7);
  std::uniform_int_distribution<int> small(-1000, 1000);
  for (auto& x : cf) x = small(rng) / 1000.0f;
  for (auto& x : bf) x = small(rng) / 1000.0f;
  for (auto& x : ci) x = small(rng);
  for (auto& x : bi) x = small(rng);

  tk::GemmParams p;
  p.a = view(a.data(), cs.dt, cs.ta ? std::vector<int64_t>{cs.K, cs.M} : std::vector<int64_t>{cs.M, cs.K});
  p.b = view(b.data(), cs.dt, cs.tb ? std::vector<int64_t>{cs.N, cs.K} : std::vector<int64_t>{cs.K, cs.N});
  const tk::DType acc = int8 ? tk::DType::kInt32 : tk::DType::kFloat32;
  p.c = cs.c ? view(int8 ? static_cast<void*>(ci.data()) : cf.data(), acc, {cs.M, cs.N}) : absent();
  p.bias = cs.bias ? view(int8 ? static_cast<void*>(bi.data()) : bf.data(), acc, {cs.N}) : absent();
  p.out = view(int8 ? static_cast<void*>(oi.data()) : of.data(), acc, {cs.M, cs.N});
  p.trans_a = cs.ta;
  p.trans_b = cs.tb;
  p.alpha = cs.alpha;
  p.beta = cs.c ? cs.beta : 0.0f;
  tk::Status s = tk::gemm(p);
  char name[160];
  std::snprintf(name, sizeof name, "gemm %s %s %lldx%lldx%lld %c%c%s%s", isa, tk::dtype_name(cs.dt), (long long)cs.M, (long long)cs.N,
                (long long)cs.K, cs.ta ? 'T' : 'N', cs.tb ? 'T' : 'N', cs.c ? " c" : "", cs.bias ? " bias" : "");
  ++g_checks;
  if (!s.ok()) return fail(std::string(name) + ": " + s.message());
  double worst = 0;
  for (int64_t i = 0; i < cs.M; ++i)
    for (int64_t j = 0; j < cs.N; ++j) {
      double sum = 0, mag = 0;
      for (int64_t k = 0; k < cs.K; ++k) {
        const double x = value_of(cs.dt, a, cs.ta ? k * cs.M + i : i * cs.K + k);
        const double y = value_of(cs.dt, b, cs.tb ? j * cs.K + k : k * cs.N + j);
        sum += x * y;
        mag += std::fabs(x * y);
      }
      const double cin = cs.c ? (int8 ? ci[size_t(i * cs.N + j)] : cf[size_t(i * cs.N + j)]) : 0.0;
      const double bv = cs.bias ? (int8 ? bi[size_t(j)] : bf[size_t(j)]) : 0.0;
      const double ref = cs.alpha * sum + p.beta * cin + bv;
      const double got = int8 ? oi[size_t(i * cs.N + j)] : of[size_t(i * cs.N + j)];
      const double tol =
          int8 ? 0.0
               : (cs.K + 4) * std::ldexp(1.0, -24) * (std::fabs(cs.alpha) * mag + std::fabs(p.beta * cin) + std::fabs(bv)) * 1.01 + 1e-37;
      const double err = std::fabs(got - ref);
      if (!(err <= tol)) {
        worst = err;
        char msg[400];
        std::snprintf(msg, sizeof msg, "%s: [%lld,%lld] = %.9g, reference %.9g", name, (long long)i, (long long)j, got, ref);
        return fail(msg);
      }
    }
  (void)worst;
}

void check_cast(const char* isa) {
  // float16 -> float32 for every pattern, and float32 -> float16/bfloat16 on varied values, against
  // the scalar conversions (themselves checked against a float64 oracle by the JS suite).
  std::vector<uint16_t> h(65536);
  for (int i = 0; i < 65536; ++i) h[size_t(i)] = static_cast<uint16_t>(i);
  std::vector<float> f(65536);
  tk::CastParams p{view(h.data(), tk::DType::kFloat16, {65536}), view(f.data(), tk::DType::kFloat32, {65536})};
  ++g_checks;
  if (!tk::cast(p).ok()) return fail(std::string("cast f16->f32 ") + isa);
  for (int i = 0; i < 65536; ++i) {
    const float want = tk::f16_to_f32(static_cast<uint16_t>(i));
    if (!(std::isnan(want) ? std::isnan(f[size_t(i)]) : std::memcmp(&want, &f[size_t(i)], 4) == 0)) {
      return fail(std::string("cast f16->f32 ") + isa + " at pattern " + std::to_string(i));
    }
  }
  std::mt19937 rng(5);
  std::vector<float> x(100003);
  for (auto& v : x) {
    uint32_t u = rng();
    std::memcpy(&v, &u, 4);
  }
  for (tk::DType to : {tk::DType::kFloat16, tk::DType::kBFloat16}) {
    std::vector<uint16_t> y(x.size());
    tk::CastParams q{view(x.data(), tk::DType::kFloat32, {int64_t(x.size())}), view(y.data(), to, {int64_t(x.size())})};
    ++g_checks;
    if (!tk::cast(q).ok()) return fail(std::string("cast ") + isa);
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(x[i])) continue;
      const uint16_t want = to == tk::DType::kFloat16 ? tk::f32_to_f16(x[i]) : tk::f32_to_bf16(x[i]);
      if (y[i] != want) return fail(std::string("cast f32->") + tk::dtype_name(to) + " " + isa + " at " + std::to_string(i));
    }
  }
}

// SpMM: random CSR with empty rows and one long row, int32 and int64 indices, N across tile widths
// and tails, against a float64 reference; a column index out of range must be reported, not read.
template <class Idx>
void check_spmm(const char* isa, std::mt19937& rng) {
  const int64_t rows = 97, cols = 203;
  std::vector<Idx> rp(1, 0), ci;
  std::vector<float> vals;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t len = r % 11 == 0 ? 0 : r == 50 ? cols : int64_t(rng() % 20);
    for (int64_t c = 0; c < cols; ++c)
      if (len == cols || int64_t(rng() % cols) < len) {
        ci.push_back(Idx(c));
        vals.push_back(u(rng));
      }
    rp.push_back(Idx(ci.size()));
  }
  const tk::DType idt = sizeof(Idx) == 8 ? tk::DType::kInt64 : tk::DType::kInt32;
  const int64_t nnz = int64_t(ci.size());
  for (int64_t n : {1, 5, 8, 17, 64, 70, 130}) {
    std::vector<float> b(size_t(cols * n)), out(size_t(rows * n), -7.0f);
    for (auto& x : b) x = u(rng);
    tk::SpmmParams p;
    p.row_ptr = view(rp.data(), idt, {rows + 1});
    p.col_idx = view(ci.data(), idt, {nnz});
    p.values = view(vals.data(), tk::DType::kFloat32, {nnz});
    p.rows = rows;
    p.cols = cols;
    p.b = view(b.data(), tk::DType::kFloat32, {cols, n});
    p.c = absent();
    p.out = view(out.data(), tk::DType::kFloat32, {rows, n});
    p.alpha = 1.25f;
    ++g_checks;
    tk::Status s = tk::spmm(p);
    const std::string what = std::string("spmm ") + isa + " idx" + std::to_string(8 * sizeof(Idx)) + " N=" + std::to_string(n);
    if (!s.ok()) return fail(what + ": " + s.message());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) {
        double ref = 0, mag = 0;
        for (int64_t q = int64_t(rp[size_t(r)]); q < int64_t(rp[size_t(r + 1)]); ++q) {
          const double t = double(vals[size_t(q)]) * b[size_t(int64_t(ci[size_t(q)]) * n + j)];
          ref += t;
          mag += std::fabs(t);
        }
        const double len = double(rp[size_t(r + 1)] - rp[size_t(r)]);
        const double got = out[size_t(r * n + j)];
        if (!(std::fabs(got - 1.25 * ref) <= (len + 4) * std::ldexp(1.25 * mag, -24) + 1e-37)) {
          return fail(what + " at (" + std::to_string(r) + ", " + std::to_string(j) + ")");
        }
      }
    const Idx saved = ci[size_t(nnz / 2)];
    ci[size_t(nnz / 2)] = Idx(cols);  // out of range: an error, never a read
    ++g_checks;
    if (tk::spmm(p).ok()) return fail(what + ": a column index out of range was not reported");
    ci[size_t(nnz / 2)] = saved;
  }
}

// Attention: GQA, causal with kvLengths (rows that see nothing), a broadcast float mask, 'bshd', odd
// D, decode (the split-keys path), float16 / bfloat16 inputs; V's head dim unlike Q / K's, explicit
// causal offsets, and rank-1 bool masks shorter than Sk; against a float64 reference within 2e-5 of
// max|v| (plus the output rounding for 16-bit outputs).
struct AttnCase {
  int64_t B, Hq, Hkv, Sq, Sk, D;
  bool causal, bshd, mask, lengths;
  tk::DType dt;
  int64_t Dv = 0;              // 0: D
  int64_t offset = INT64_MIN;  // the causal offset; INT64_MIN: the default (L_b - Sq)
  int64_t bool_keys = 0;       // > 0: a rank-1 bool mask of this many keys (instead of the float mask)
};

void check_attention(const AttnCase& c, const char* isa, std::mt19937& rng) {
  const std::string what = std::string("attention ") + isa + " " + tk::dtype_name(c.dt) + " B" + std::to_string(c.B) + " H" +
                           std::to_string(c.Hq) + "/" + std::to_string(c.Hkv) + " " + std::to_string(c.Sq) + "x" + std::to_string(c.Sk) +
                           " D" + std::to_string(c.D) + (c.causal ? " causal" : "") + (c.bshd ? " bshd" : "") + (c.mask ? " mask" : "") +
                           (c.lengths ? " kvLengths" : "") + (c.Dv ? " Dv" + std::to_string(c.Dv) : "") +
                           (c.offset != INT64_MIN ? " offset " + std::to_string(c.offset) : "") +
                           (c.bool_keys ? " bool[" + std::to_string(c.bool_keys) + "]" : "");
  const int64_t Dv = c.Dv ? c.Dv : c.D;
  const auto q = random_raw(c.dt, c.B * c.Hq * c.Sq * c.D, rng), k = random_raw(c.dt, c.B * c.Hkv * c.Sk * c.D, rng),
             v = random_raw(c.dt, c.B * c.Hkv * c.Sk * Dv, rng);
  std::vector<uint8_t> keep(size_t(std::max<int64_t>(c.bool_keys, 1)));
  for (size_t j = 0; j < keep.size(); ++j) keep[j] = j == 0 || rng() % 4 != 0 ? 1 : 0;
  std::vector<float> mask(size_t(c.Sq * c.Sk));
  std::uniform_real_distribution<float> u(-2.0f, 1.0f);
  for (auto& x : mask) x = (rng() % 8 == 0) ? -INFINITY : u(rng);
  std::vector<int32_t> lens(size_t(c.B));
  for (int64_t b = 0; b < c.B; ++b) lens[size_t(b)] = c.lengths ? int32_t((b * 7 + 3) % (c.Sk + 1)) : int32_t(c.Sk);
  std::vector<uint8_t> out(size_t(c.B * c.Hq * c.Sq * Dv) * (c.dt == tk::DType::kFloat32 ? 4 : 2), 0xff);
  auto shape = [&](int64_t H, int64_t S, int64_t E) {
    return c.bshd ? std::vector<int64_t>{c.B, S, H, E} : std::vector<int64_t>{c.B, H, S, E};
  };
  auto off = [&](int64_t H, int64_t S, int64_t b, int64_t h, int64_t i, int64_t E) {
    return c.bshd ? ((b * S + i) * H + h) * E : ((b * H + h) * S + i) * E;
  };
  tk::AttentionParams p;
  p.q = view(const_cast<uint8_t*>(q.data()), c.dt, shape(c.Hq, c.Sq, c.D));
  p.k = view(const_cast<uint8_t*>(k.data()), c.dt, shape(c.Hkv, c.Sk, c.D));
  p.v = view(const_cast<uint8_t*>(v.data()), c.dt, shape(c.Hkv, c.Sk, Dv));
  p.mask = c.bool_keys ? view(keep.data(), tk::DType::kBool, {c.bool_keys})
           : c.mask    ? view(mask.data(), tk::DType::kFloat32, {c.Sq, c.Sk})
                       : absent();
  p.kv_lengths = c.lengths ? view(lens.data(), tk::DType::kInt32, {c.B}) : absent();
  p.out = view(out.data(), c.dt, shape(c.Hq, c.Sq, Dv));
  p.lse = absent();
  p.causal = c.causal, p.bshd = c.bshd, p.scale = float(1 / std::sqrt(double(c.D)));
  p.has_causal_offset = c.offset != INT64_MIN, p.causal_offset = p.has_causal_offset ? c.offset : 0;
  ++g_checks;
  tk::Status s = tk::attention(p);
  if (!s.ok()) return fail(what + ": " + s.message());
  const double round = c.dt == tk::DType::kFloat16 ? std::ldexp(1.0, -11) : c.dt == tk::DType::kBFloat16 ? std::ldexp(1.0, -8) : 0.0;
  // bfloat16 P V on AVX512_BF16 rounds P to bfloat16 (docs/attention.md): up to 2^-9 max |v| more.
  const double pv_round =
      c.dt == tk::DType::kBFloat16 && std::strstr(tk::attention_cpu_last_kernel(), "p.v on vdpbf16ps") ? std::ldexp(1.0, -9) * 1.01 : 0.0;
  std::vector<double> sc(size_t(c.Sk));
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h)
      for (int64_t i = 0; i < c.Sq; ++i) {
        const int64_t hk = h / (c.Hq / c.Hkv), L = lens[size_t(b)], qo = off(c.Hq, c.Sq, b, h, i, c.D), oo = off(c.Hq, c.Sq, b, h, i, Dv);
        const int64_t coff = c.offset != INT64_MIN ? c.offset : L - c.Sq;
        double m = -INFINITY, l = 0, vmax = 0;
        for (int64_t j = 0; j < c.Sk; ++j) {
          sc[size_t(j)] = -INFINITY;
          if (j >= L || (c.causal && j > i + coff)) continue;
          if (c.bool_keys && (j >= c.bool_keys || !keep[size_t(j)])) continue;
          double dot = 0;
          for (int64_t d = 0; d < c.D; ++d) dot += value_of(c.dt, q, qo + d) * value_of(c.dt, k, off(c.Hkv, c.Sk, b, hk, j, c.D) + d);
          sc[size_t(j)] = dot * p.scale + (c.mask && !c.bool_keys ? double(mask[size_t(i * c.Sk + j)]) : 0.0);
          m = std::max(m, sc[size_t(j)]);
        }
        for (int64_t j = 0; j < c.Sk; ++j)
          if (sc[size_t(j)] != -INFINITY) {
            l += std::exp(sc[size_t(j)] - m);
            for (int64_t d = 0; d < Dv; ++d) vmax = std::max(vmax, std::fabs(value_of(c.dt, v, off(c.Hkv, c.Sk, b, hk, j, Dv) + d)));
          }
        for (int64_t d = 0; d < Dv; ++d) {
          double ref = 0;
          if (l > 0)
            for (int64_t j = 0; j < c.Sk; ++j)
              if (sc[size_t(j)] != -INFINITY) ref += std::exp(sc[size_t(j)] - m) * value_of(c.dt, v, off(c.Hkv, c.Sk, b, hk, j, Dv) + d);
          ref = l > 0 ? ref / l : 0.0;
          const double got = value_of(c.dt, out, oo + d);
          if (!(std::fabs(got - ref) <= (2e-5 + pv_round) * vmax + round * std::fabs(ref) + 1e-30)) {
            return fail(what + " at (" + std::to_string(b) + ", " + std::to_string(h) + ", " + std::to_string(i) + ", " +
                        std::to_string(d) + "): " + std::to_string(got) + " vs " + std::to_string(ref));
          }
        }
      }
}

// W4A4 / W4A8 on integer data whose row and group maxima are exactly qmax (every scale is 1): the
// output is the integer product, exactly; plus rotated float data against the plain loop.
void check_w4a4(const char* isa, std::mt19937& rng) {
  // The last two take the gemm route (64 rows up): in groups, gemm's grouped int8 kernels on AVX-512 VNNI.
  const int64_t shapes[][4] = {{1, 7, 100, 100},   {5, 9, 96, 32}, {7, 6, 192, 64},    {9, 5, 256, 128},
                               {4, 3, 4096, 4096}, {3, 4, 48, 16}, {70, 37, 640, 128}, {65, 33, 1088, 64}};
  for (auto& sh : shapes)
    for (int bits : {4, 8}) {
      const int64_t M = sh[0], N = sh[1], K = sh[2], gs = sh[3], G = K / gs;
      const int qmax = bits == 8 ? 127 : 7;
      std::uniform_int_distribution<int> xd(-qmax, qmax), wd(-7, 7);
      std::vector<float> x(size_t(M * K)), ws(size_t(N * G), 1.0f), out(size_t(M * N));
      std::vector<int> w(size_t(N * K));
      for (int64_t i = 0; i < M * K; ++i) x[size_t(i)] = float(xd(rng));
      for (int64_t m = 0; m < M; ++m) x[size_t(m * K + (m * 13) % K)] = float(qmax);
      for (int64_t i = 0; i < N * K; ++i) w[size_t(i)] = wd(rng);
      std::vector<uint8_t> packed(size_t(N * K / 2));
      for (int64_t i = 0; i < N * K; ++i) packed[size_t(i / 2)] |= uint8_t((w[size_t(i)] & 15) << ((i & 1) * 4));
      tk::W4A4Params p;
      p.x = view(x.data(), tk::DType::kFloat32, {M, K});
      p.w = view(packed.data(), tk::DType::kInt4, {N, K});
      p.scales = view(ws.data(), tk::DType::kFloat32, {N, G});
      p.zero_points = p.outlier_idx = p.outlier_w = p.outlier_scales = p.bias = absent();
      p.out = view(out.data(), tk::DType::kFloat32, {M, N});
      p.group_size = gs;
      p.act_bits = bits;
      const std::string what = std::string("w4a4 ") + isa + " a" + std::to_string(bits) + " " + std::to_string(M) + "x" +
                               std::to_string(N) + "x" + std::to_string(K) + " g" + std::to_string(gs);
      ++g_checks;
      tk::Status s = tk::w4a4(p);
      if (!s.ok()) {
        fail(what + ": " + s.message());
        continue;
      }
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double want = 0;
          for (int64_t k = 0; k < K; ++k) want += double(x[size_t(m * K + k)]) * w[size_t(n * K + k)];
          if (double(out[size_t(m * N + n)]) != want) {
            fail(what + ": out[" + std::to_string(m) + "," + std::to_string(n) + "] = " + std::to_string(out[size_t(m * N + n)]) +
                 ", want " + std::to_string(want));
            m = M;
            break;
          }
        }
      // Rotated float activations: the kernels against the plain loop (same quantizer, float epilogue).
      std::normal_distribution<float> nd(0.0f, 1.0f);
      for (auto& v : x) v = nd(rng);
      for (auto& v : ws) v = 0.01f + std::fabs(nd(rng));
      p.rotate_block = std::min<int64_t>(32, gs & -gs);  // a power of two dividing the group
      std::vector<float> ref(out.size());
      tk::W4A4Params q = p;
      q.out = view(ref.data(), tk::DType::kFloat32, {M, N});
      tk::W4A4Shape shp;
      ++g_checks;
      if (!tk::w4a4(p).ok() || !tk::w4a4_validate(q, &shp).ok() || !tk::w4a4_plain(q, shp).ok()) {
        fail(what + " rotated: failed");
        continue;
      }
      for (size_t i = 0; i < out.size(); ++i) {
        if (!(std::fabs(out[i] - ref[i]) <= 1e-4 * (1.0 + std::fabs(ref[i])) * std::sqrt(double(K)))) {
          fail(what + " rotated: " + std::to_string(out[i]) + " vs plain " + std::to_string(ref[i]));
          break;
        }
      }
    }
}
}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  std::vector<const char*> isas = {"scalar"};
  switch (tk::best_isa()) {
    case tk::Isa::kAvx512:
      isas.push_back("avx2");
      isas.push_back("avx512");
      break;
    case tk::Isa::kAvx2: isas.push_back("avx2"); break;
    case tk::Isa::kNeon: isas.push_back("neon"); break;
    default: break;
  }
  std::vector<Case> cases;
  const int64_t sizes[][3] = {{1, 1, 1},    {7, 33, 257},   {33, 7, 100},    {1, 300, 77}, {16, 100, 40},
                              {40, 70, 90}, {100, 61, 300}, {130, 257, 129}, {300, 1, 77}};
  for (auto& sz : sizes)
    for (int t = 0; t < 4; ++t)
      for (tk::DType dt : {tk::DType::kFloat32, tk::DType::kBFloat16, tk::DType::kInt8}) {
        if (quick && dt != tk::DType::kFloat32 && t != 0) continue;
        cases.push_back({sz[0], sz[1], sz[2], (t & 1) != 0, (t & 2) != 0, dt, t == 1, t == 2, dt == tk::DType::kInt8 ? 1.0f : 1.5f, 1.0f});
      }
  cases.push_back({64, 64, 1000, false, true, tk::DType::kFloat16, true, true, -0.5f, 0.25f});
  std::mt19937 rng(1234);
  thread_pool_checks::run({&g_failures, &g_checks, fail}, quick ? 20000 : 100000);
  std::printf("thread pool stress: done\n");
  host_pool_checks::run({&g_failures, &g_checks, fail});
  std::printf("host pool: done\n");
  // The CUDA GEMM index math, checked on the host (no GPU needed).
  gemm_cuda_checks::run({&g_failures, &g_checks, fail}, rng);
  std::printf("cuda gemm index math: done\n");
  spmm_cuda_checks::run({&g_failures, &g_checks, fail}, rng);
  std::printf("cuda spmm index math and kernel emulation: done\n");
  // The CUDA W4A4 index math and a host emulation of its tensor-core main loop (no GPU needed).
  w4a4_cuda_checks::run({&g_failures, &g_checks, fail}, rng);
  std::printf("cuda w4a4 index math: done\n");
  attention_cuda_checks::run({&g_failures, &g_checks, fail}, rng);
  std::printf("cuda attention index math and sm80 emulation: done\n");
  attention_sm90_checks::run({&g_failures, &g_checks, fail}, rng);
  std::printf("cuda attention sm90 layouts, pipeline simulation and emulation: done\n");
  monarch_cuda_checks::run({&g_failures, &g_checks, fail}, rng);
  std::printf("cuda monarch index math, grid emulation and the cpu op: done\n");
  int8mm_cuda_checks::run({&g_failures, &g_checks, fail}, rng);
  std::printf("cuda int8mm fragments, pipeline emulation and the cpu op: done\n");
  linear_attention_cuda_checks::run({&g_failures, &g_checks, fail}, rng);
  std::printf("cuda linear attention index math, cta emulation and the cpu op: done\n");
  lut_cuda_checks::run({&g_failures, &g_checks, fail}, rng);
  std::printf("cuda lut grid emulation and the cpu op: done\n");
  bitmm_cuda_checks::run({&g_failures, &g_checks, fail}, rng);
  std::printf("cuda bitmm fragments and tier emulation against the cpu op: done\n");
  for (const char* isa : isas) {
    if (!tk::set_isa_cap(isa)) {
      std::printf("FAIL cannot select %s\n", isa);
      return 1;
    }
    for (int threads : {1, 3}) {
      tk::set_num_threads(threads);
      for (const Case& cs : cases) check_gemm(cs, isa, rng);
    }
    check_cast(isa);
    check_spmm<int32_t>(isa, rng);
    check_spmm<int64_t>(isa, rng);
    const tk::DType f32 = tk::DType::kFloat32;
    const AttnCase attn[] = {
        {2, 8, 2, 70, 70, 64, true, false, false, true, f32},
        {1, 9, 3, 33, 50, 24, false, true, true, false, f32},
        {1, 4, 1, 1, 3000, 128, false, false, false, false, f32},
        {1, 2, 2, 100, 30, 5, true, false, false, false, f32},
        {2, 4, 2, 3, 2100, 16, true, false, false, true, tk::DType::kBFloat16},
        {1, 4, 4, 20, 90, 40, false, true, true, false, tk::DType::kFloat16},
        // V's head dim unlike Q / K's, causal offsets (top-left, negative, past the keys), rank-1 bool masks shorter than Sk
        {2, 6, 2, 40, 57, 24, true, true, false, true, f32, 40, 0},
        {1, 4, 1, 1, 2500, 64, false, false, false, false, f32, 96, INT64_MIN, 2000},
        {1, 2, 2, 33, 20, 8, true, false, false, false, tk::DType::kBFloat16, 12, -5, 17},
        {2, 8, 4, 70, 90, 32, true, false, false, true, f32, 0, 90},
    };
    for (int threads : {1, 3}) {
      tk::set_num_threads(threads);
      for (const AttnCase& c : attn) check_attention(c, isa, rng);
    }
    check_w4a4(isa, rng);
    bitmm_cuda_checks::run_cpu({&g_failures, &g_checks, fail}, rng, isa);
    std::printf("%s: done\n", isa);
  }
  std::printf("%d checks, %d failures (kernel families: %s; cpu best: %s)\n", g_checks, g_failures, isas.back(),
              tk::isa_name(tk::best_isa()));
  return g_failures == 0 ? 0 : 1;
}
