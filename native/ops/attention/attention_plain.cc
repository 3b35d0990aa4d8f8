// The unfused baseline the bench compares with: per (batch, head), S = scale * Q K^T with the
// project's GEMM into a materialized Sq x Sk buffer, a row softmax (causal keys zeroed), O = P V with
// the GEMM. This is "attention written as three library calls": the same FLOPs plus the O(Sq * Sk)
// round trips through memory that fusion removes (and no causal skipping).
#include <cmath>
#include <limits>
#include <vector>

#include "../../core/thread_pool.h"
#include "../gemm/gemm.h"
#include "attention.h"

namespace tk {
namespace {

TensorView view2(void* data, int64_t r, int64_t c) {
  TensorView t;
  const int64_t dims[2] = {r, c};
  (void)make_shape(DType::kFloat32, dims, 2, &t);
  t.data = data;
  return t;
}

}  // namespace

Status attention_plain(const AttentionParams& p, const AttentionShape& s) {
  if (p.q.dtype != DType::kFloat32 || p.out.dtype != DType::kFloat32 || p.bshd || s.has_mask || p.kv_lengths.ndim >= 0 ||
      p.softcap != 0.0f) {
    return Unsupported("attentionPlain takes float32 'bhsd' inputs without mask, kvLengths or softcap");
  }
  if (!p.q.device.is_cpu()) return Unsupported("attentionPlain runs on the CPU");
  std::vector<float> scores(static_cast<size_t>(s.Sq * s.Sk));
  for (int64_t b = 0; b < s.B; ++b) {
    for (int64_t h = 0; h < s.Hq; ++h) {
      const int64_t hk = h / s.group;
      GemmParams g1;
      g1.c.ndim = g1.bias.ndim = -1;  // absent
      g1.a = view2(p.q.as<float>() + b * s.qb + h * s.qh, s.Sq, s.D);
      g1.b = view2(p.k.as<float>() + b * s.kb + hk * s.kh, s.Sk, s.D);
      g1.out = view2(scores.data(), s.Sq, s.Sk);
      g1.trans_b = true;
      g1.alpha = p.scale;
      TK_RETURN_IF_ERROR(gemm(g1));
      TK_RETURN_IF_ERROR(parallel_for(s.Sq, 16, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
          float* row = scores.data() + i * s.Sk;
          const int64_t off = p.has_causal_offset ? p.causal_offset : s.Sk - s.Sq;
          const int64_t n = p.causal ? std::min<int64_t>(s.Sk, std::max<int64_t>(0, i + off + 1)) : s.Sk;
          float mx = -std::numeric_limits<float>::infinity();
          for (int64_t j = 0; j < n; ++j) mx = std::max(mx, row[j]);
          float sum = 0.0f;
          for (int64_t j = 0; j < n; ++j) sum += (row[j] = std::exp(row[j] - mx));
          const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
          for (int64_t j = 0; j < n; ++j) row[j] *= inv;
          for (int64_t j = n; j < s.Sk; ++j) row[j] = 0.0f;
        }
      }));
      GemmParams g2;
      g2.c.ndim = g2.bias.ndim = -1;
      g2.a = view2(scores.data(), s.Sq, s.Sk);
      g2.b = view2(p.v.as<float>() + b * s.vb + hk * s.vh, s.Sk, s.Dv);
      g2.out = view2(p.out.as<float>() + b * s.ob + h * s.oh, s.Sq, s.Dv);
      TK_RETURN_IF_ERROR(gemm(g2));
    }
  }
  return Status::Ok();
}

}  // namespace tk
