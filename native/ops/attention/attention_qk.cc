// The attention score matrix at one stage of the pipeline, for debugging small shapes: ONNX
// Attention's optional qk_matmul_output. A slow path on the CPU that never touches the fused kernels:
// per (batch, query head, query) row, every key's score in float64 (rounded once to the output's
// float32), keys hidden by the kernels' own rule (Problem::last_key). O(B * Hq * Sq * Sk * D) work and
// a [B, Hq, Sq, Sk] output: the materialized matrix the fused op exists to avoid.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../../core/half.h"
#include "../../core/thread_pool.h"
#include "attention.h"
#include "attention_kernels.h"

namespace tk {
namespace {

double load(const void* base, DType t, int64_t i) {
  switch (t) {
    case DType::kFloat16: return f16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::kBFloat16: return bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::kInt8:
    case DType::kBool: return static_cast<const int8_t*>(base)[i];
    default: return static_cast<const float*>(base)[i];
  }
}

}  // namespace

Status attention_qk_output(const AttentionParams& p, const AttentionShape& s) {
  const double kInf = std::numeric_limits<double>::infinity();
  const int64_t rows = s.B * s.Hq * s.Sq;
  float* const dst = p.qk_out.as<float>();
  const attention_kernels::Problem pr = attention_kernels::make_problem(p, s);
  return parallel_for(rows, 4, [&](int64_t r0, int64_t r1) {
    std::vector<double> row(static_cast<size_t>(s.Sk));
    std::vector<char> vis(static_cast<size_t>(s.Sk));
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t i = r % s.Sq, h = (r / s.Sq) % s.Hq, b = r / (s.Sq * s.Hq), hk = h / s.group;
      const int64_t last = pr.last_key(b, i);  // the length, mask-length and causal rules, as the kernels apply them
      const int64_t qo = b * s.qb + h * s.qh + i * s.qs;
      double mx = -kInf;
      for (int64_t j = 0; j < s.Sk; ++j) {
        const int64_t ko = b * s.kb + hk * s.kh + j * s.ks;
        double dot = 0.0;
        for (int64_t d = 0; d < s.D; ++d) dot += load(p.q.data, p.q.dtype, qo + d) * load(p.k.data, p.k.dtype, ko + d);
        double x = dot * double(p.scale);
        if (p.qk_stage >= kQkSoftcap && p.softcap > 0.0f) x = double(p.softcap) * std::tanh(x / double(p.softcap));
        bool visible = true;
        if (p.qk_stage >= kQkMask) {
          visible = j <= last;
          if (visible && s.has_mask) {
            const double m = load(p.mask.data, p.mask.dtype, b * s.mb + h * s.mh + i * s.mi + j * s.mj);
            if (s.mask_bool)
              visible = m != 0.0;
            else
              x += m;
          }
          if (!visible || x == -kInf) x = -kInf, visible = false;
        }
        row[size_t(j)] = x;
        vis[size_t(j)] = visible;
        if (visible) mx = std::max(mx, x);
      }
      float* out = dst + r * s.Sk;
      if (p.qk_stage < kQkSoftmax) {
        for (int64_t j = 0; j < s.Sk; ++j) out[j] = float(row[size_t(j)]);
        continue;
      }
      // softmax over the visible keys; a row that sees none is 0 (the op's rule: never NaN)
      double sum = 0.0;
      for (int64_t j = 0; j < s.Sk; ++j) sum += vis[size_t(j)] ? std::exp(row[size_t(j)] - mx) : 0.0;
      for (int64_t j = 0; j < s.Sk; ++j) out[j] = vis[size_t(j)] && sum > 0.0 ? float(std::exp(row[size_t(j)] - mx) / sum) : 0.0f;
    }
  });
}

}  // namespace tk
