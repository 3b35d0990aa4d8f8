// The CPU driver of linear_attention: Lightning Attention-2's blocks on gemm's microkernels.
// Per (batch, head), blocks of B_s tokens [t0, t0 + n) in order, with KV the D x Dv state of the
// tokens before the block and p[j] = lambda^j:
//   intra:  O  = scale * ((Q K^T) .* M) V,  M[i][j] = p[i - j] for j <= i, else 0
//   inter:  O += scale * (diag(p[i + 1]) Q) KV
//   update: KV = p[n] KV + (diag(p[n - 1 - j]) K)^T V
// Only non-negative powers of lambda appear, so nothing overflows however small lambda is. Rows are
// gathered into float32 blocks first (any dtype, either layout), so every product is a float32 GEMM on
// contiguous memory. Threads take whole heads; the GEMMs inside a head run on the calling thread.
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "../../core/half.h"
#include "../../core/kernel_record.h"
#include "../../core/thread_pool.h"
#include "../gemm/gemm.h"
#include "linear_attention.h"
#include "linear_attention_configs.h"

namespace tk {
namespace {

CpuKernelRecord g_ran;

TensorView absent() {
  TensorView t;
  t.ndim = -1;
  return t;
}

TensorView mat(const float* p, int64_t rows, int64_t cols) {
  TensorView t;
  t.data = const_cast<float*>(p);
  t.dtype = DType::kFloat32;
  t.ndim = 2;
  t.shape[0] = rows;
  t.shape[1] = cols;
  t.numel = rows * cols;
  return t;
}

// out [M, N] = alpha * op(a) op(b) + beta * out, a stored [ar, ac], b stored [br, bc].
void mm(const float* a, int64_t ar, int64_t ac, bool ta, const float* b, int64_t br, int64_t bc, bool tb, float* out, float alpha,
        float beta) {
  GemmParams g;
  g.a = mat(a, ar, ac);
  g.b = mat(b, br, bc);
  const int64_t M = ta ? ac : ar, N = tb ? br : bc;
  g.out = mat(out, M, N);
  g.c = beta != 0.0f ? g.out : absent();
  g.bias = absent();
  g.trans_a = ta, g.trans_b = tb, g.alpha = alpha, g.beta = beta;
  const Status st = gemm(g);
  if (!st.ok()) throw std::runtime_error("linearAttention: " + st.message());
}

// Rows i < n of E elements at element offset off + i * stride of `base` (dtype dt) into dst [n, E].
void load_rows(const void* base, DType dt, int64_t off, int64_t stride, int64_t n, int64_t E, float* dst) {
  for (int64_t i = 0; i < n; ++i, dst += E) {
    const int64_t o = off + i * stride;
    if (dt == DType::kFloat32) {
      std::memcpy(dst, static_cast<const float*>(base) + o, size_t(E) * sizeof(float));
    } else {
      const uint16_t* src = static_cast<const uint16_t*>(base) + o;
      if (dt == DType::kFloat16)
        for (int64_t e = 0; e < E; ++e) dst[e] = f16_to_f32(src[e]);
      else
        for (int64_t e = 0; e < E; ++e) dst[e] = bf16_to_f32(src[e]);
    }
  }
}

void store_rows(const float* src, int64_t n, int64_t E, void* base, DType dt, int64_t off, int64_t stride) {
  for (int64_t i = 0; i < n; ++i, src += E) {
    const int64_t o = off + i * stride;
    if (dt == DType::kFloat32) {
      std::memcpy(static_cast<float*>(base) + o, src, size_t(E) * sizeof(float));
    } else {
      uint16_t* dst = static_cast<uint16_t*>(base) + o;
      if (dt == DType::kFloat16)
        for (int64_t e = 0; e < E; ++e) dst[e] = f32_to_f16(src[e]);
      else
        for (int64_t e = 0; e < E; ++e) dst[e] = f32_to_bf16(src[e]);
    }
  }
}

void scale_rows(float* x, int64_t n, int64_t E, const float* f) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t e = 0; e < E; ++e) x[i * E + e] *= f[i];
}

// One thread's blocks: Q, K [Bs, D], V [Bs, Dv], P [Bs, Bs], O [Bs, Dv], KV [D, Dv], p [Bs + 1], f [Bs].
struct Work {
  std::vector<float> q, k, v, p, o, kv, pw, f;
  Work(int64_t Bs, int64_t D, int64_t Dv) : q(Bs * D), k(Bs * D), v(Bs * Dv), p(Bs * Bs), o(Bs * Dv), kv(D * Dv), pw(Bs + 1), f(Bs) {}
};

void run_head(const LinearAttentionParams& pr, const LinearAttentionShape& s, int64_t bh, int64_t Bs, Work& w) {
  const int64_t b = bh / s.H, h = bh % s.H, D = s.D, Dv = s.Dv, S = s.S;
  const double lam = present(pr.decay) ? double(pr.decay.as<const float>()[h]) : 1.0;
  for (int64_t j = 0; j <= Bs; ++j) w.pw[j] = static_cast<float>(std::pow(lam, double(j)));
  float* KV = w.kv.data();
  const int64_t soff = bh * D * Dv;
  if (present(pr.state_in))
    std::memcpy(KV, pr.state_in.as<const float>() + soff, size_t(D * Dv) * sizeof(float));
  else
    std::fill(w.kv.begin(), w.kv.end(), 0.0f);
  bool have_state = present(pr.state_in);
  const int64_t qo = b * s.qb + h * s.qh, vo = b * s.vb + h * s.vh, oo = b * s.ob + h * s.oh;
  const DType dt = pr.q.dtype;
  float *Q = w.q.data(), *K = w.k.data(), *V = w.v.data(), *P = w.p.data(), *O = w.o.data();
  const float* pw = w.pw.data();
  if (pr.causal) {
    for (int64_t t0 = 0; t0 < S; t0 += Bs) {
      const int64_t n = std::min(Bs, S - t0);
      load_rows(pr.q.data, dt, qo + t0 * s.qs, s.qs, n, D, Q);
      load_rows(pr.k.data, dt, qo + t0 * s.qs, s.qs, n, D, K);
      load_rows(pr.v.data, dt, vo + t0 * s.vs, s.vs, n, Dv, V);
      mm(Q, n, D, false, K, n, D, true, P, 1.0f, 0.0f);  // P [n, n] = Q K^T
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) P[i * n + j] = j <= i ? P[i * n + j] * pw[i - j] : 0.0f;
      mm(P, n, n, false, V, n, Dv, false, O, pr.scale, 0.0f);  // O = scale P V
      if (have_state) {
        if (lam != 1.0) scale_rows(Q, n, D, pw + 1);
        mm(Q, n, D, false, KV, D, Dv, false, O, pr.scale, 1.0f);  // O += scale Q~ KV
      }
      if (t0 + n < S || present(pr.state_out)) {
        if (lam != 1.0) {
          for (int64_t j = 0; j < n; ++j) w.f[j] = pw[n - 1 - j];
          scale_rows(K, n, D, w.f.data());
        }
        mm(K, n, D, true, V, n, Dv, false, KV, 1.0f, pw[n]);  // KV = p[n] KV + K~^T V
        have_state = true;
      }
      store_rows(O, n, Dv, pr.out.data, pr.out.dtype, oo + t0 * s.os, s.os);
    }
  } else {
    for (int64_t t0 = 0; t0 < S; t0 += Bs) {  // KV = state_in + K^T V
      const int64_t n = std::min(Bs, S - t0);
      load_rows(pr.k.data, dt, qo + t0 * s.qs, s.qs, n, D, K);
      load_rows(pr.v.data, dt, vo + t0 * s.vs, s.vs, n, Dv, V);
      mm(K, n, D, true, V, n, Dv, false, KV, 1.0f, 1.0f);
    }
    for (int64_t t0 = 0; t0 < S; t0 += Bs) {  // O = scale Q KV
      const int64_t n = std::min(Bs, S - t0);
      load_rows(pr.q.data, dt, qo + t0 * s.qs, s.qs, n, D, Q);
      mm(Q, n, D, false, KV, D, Dv, false, O, pr.scale, 0.0f);
      store_rows(O, n, Dv, pr.out.data, pr.out.dtype, oo + t0 * s.os, s.os);
    }
  }
  if (present(pr.state_out)) std::memcpy(pr.state_out.as<float>() + soff, KV, size_t(D * Dv) * sizeof(float));
}

}  // namespace

const char* linear_attention_cpu_last_kernel() { return g_ran.get(); }

Status linear_attention_cpu(const LinearAttentionParams& p, const LinearAttentionShape& s) {
  const int64_t Bs = linear_attention_configs::kCpuBlock;
  const int64_t heads = s.B * s.H;
  g_ran.set("lightning2 B_s=64 gemm");
  if (heads == 0) return Status::Ok();
  const double work = double(heads) * double(s.S) * (2.0 * double(Bs) * double(s.D + s.Dv) + 4.0 * double(s.D) * double(s.Dv));
  SerialScope serial(work < kSerialWork);
  return parallel_for(heads, 1, [&](int64_t begin, int64_t end) {
    Work w(Bs, s.D, s.Dv);
    for (int64_t bh = begin; bh < end; ++bh) run_head(p, s, bh, Bs, w);
  });
}

}  // namespace tk
