// The plain loop: untiled, unpacked, one dot product per output element, rows split over the pool.
// It is the bench's own baseline ("what you get without blocking and microkernels") and an
// independent cross-check of the optimized path.
#include "../../core/half.h"
#include "../../core/thread_pool.h"
#include "gemm.h"

namespace tk {
namespace {

inline double at(const TensorView& t, int64_t idx) {
  switch (t.dtype) {
    case DType::kFloat16: return f16_to_f32(t.as<uint16_t>()[idx]);
    case DType::kBFloat16: return bf16_to_f32(t.as<uint16_t>()[idx]);
    case DType::kInt8: return t.as<int8_t>()[idx];
    case DType::kInt32: return t.as<int32_t>()[idx];
    default: return t.as<float>()[idx];
  }
}

}  // namespace

Status gemm_plain(const GemmParams& p, const GemmShape& s) {
  if (p.out.dtype != DType::kFloat32 && p.out.dtype != DType::kInt32) return Unsupported("gemm_plain writes float32 or int32");
  const bool int8 = p.a.dtype == DType::kInt8;
  return parallel_for(s.batch * s.M, 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t bi = r / s.M, i = r % s.M;
      for (int64_t j = 0; j < s.N; ++j) {
        float accf = 0.0f;
        int32_t acci = 0;
        for (int64_t k = 0; k < s.K; ++k) {
          const int64_t ia = bi * s.stride_a + (p.trans_a ? k * s.lda + i : i * s.lda + k);
          const int64_t ib = bi * s.stride_b + (p.trans_b ? j * s.ldb + k : k * s.ldb + j);
          if (int8)
            acci += int32_t(p.a.as<int8_t>()[ia]) * int32_t(p.b.as<int8_t>()[ib]);
          else
            accf += float(at(p.a, ia)) * float(at(p.b, ib));
        }
        const int64_t io = bi * s.stride_out + i * s.N + j;
        if (int8) {
          int32_t v = acci;
          if (p.c.ndim >= 0 && p.beta != 0.0f) v += p.c.as<int32_t>()[bi * s.stride_c + i * s.N + j];
          if (p.bias.ndim >= 0) v += p.bias.as<int32_t>()[j];
          p.out.as<int32_t>()[io] = v;
        } else {
          float v = p.alpha * accf;
          if (p.c.ndim >= 0 && p.beta != 0.0f) v += p.beta * float(at(p.c, bi * s.stride_c + i * s.N + j));
          if (p.bias.ndim >= 0) v += float(at(p.bias, j));
          p.out.as<float>()[io] = v;
        }
      }
    }
  });
}

}  // namespace tk
