// The plain W4A4 loop: quantize each activation row (the shared contract quantizer), then one
// scalar integer dot product per output element and group, straight from the nibbles, rows split over
// the pool. The bench's own baseline ("without the kernels") and an independent cross-check.
#include <vector>

#include "../../core/thread_pool.h"
#include "w4a4.h"
#include "w4a4_quant.h"

namespace tk {

Status w4a4_plain(const W4A4Params& p, const W4A4Shape& s) {
  if (p.act_bits == 0) return Unsupported("w4a4_plain covers the quantized-activation paths");
  if (p.x_scales.ndim >= 0) return Unsupported("w4a4_plain takes float activations");
  if (s.K == 0) return Unsupported("w4a4_plain needs K > 0");
  const uint8_t* w = static_cast<const uint8_t*>(p.w.data);
  const float* ws = p.scales.as<float>();
  const int32_t* oidx = s.nO ? p.outlier_idx.as<int32_t>() : nullptr;
  return parallel_for(s.M, 1, [&](int64_t r0, int64_t r1) {
    std::vector<float> buf(size_t(s.K));
    std::vector<int8_t> q(size_t(s.K)), qo(size_t(s.nO) + 1);
    for (int64_t m = r0; m < r1; ++m) {
      float sx = 0.0f, so = 0.0f;
      w4a4_quant::RowOut o;
      o.q = q.data();
      o.chunked = false;
      o.scale = &sx;
      o.qo = qo.data();
      o.so = &so;
      w4a4_quant::quantize_row(p.x.as<float>() + m * s.K, s.K, p.act_bits, p.rotate_block, oidx, s.nO, buf.data(), o);
      for (int64_t n = 0; n < s.N; ++n) {
        float y = 0.0f;
        for (int64_t g = 0; g < s.G; ++g) {
          int32_t acc = 0;
          for (int64_t k = g * p.group_size; k < (g + 1) * p.group_size; ++k) {
            const uint8_t b = w[(n * s.K + k) >> 1];
            const int32_t nib = (k & 1) ? (b >> 4) : (b & 0x0F);
            acc += ((nib ^ 8) - 8) * int32_t(q[size_t(k)]);
          }
          y += ws[n * s.G + g] * float(acc);
        }
        y *= sx;
        if (s.nO) {
          int32_t acc = 0;
          for (int64_t j = 0; j < s.nO; ++j) acc += int32_t(qo[size_t(j)]) * int32_t(p.outlier_w.as<int8_t>()[n * s.nO + j]);
          y += so * p.outlier_scales.as<float>()[n] * float(acc);
        }
        p.out.as<float>()[m * s.N + n] = s.epi(m, n, y);
      }
    }
  });
}

}  // namespace tk
