// lutMatmul: float32 / bfloat16 activations times 1-, 2-, 3- or 4-bit weights by table lookup
// (T-MAC on CPUs, LUT Tensor Core's idea on CUDA SMs), and the quantizer that makes those weights.
// The contract (docs/lut.md):
//   weights W [N, K], symmetric per group of `group_size` along K (G = ceil(K / gs) groups; the last
//   one may be shorter), scale s[n, g] float32, integer q[n, k]:
//     b >= 2: s = max|v| / (2^(b-1) - 1) (float32), q = clamp(round_half_even(v / s), -2^(b-1), 2^(b-1) - 1)
//             (s = 0 gives q = 0)
//     b = 1:  s = mean |v| over the group (the sum in float64, rounded once to float32), q = +1 for
//             v >= 0 (-0 included), -1 for v < 0
//   y[m, n] = sum_g s[n, g] * sum_{k in g} x[m, k] * q[n, k], then out = alpha * y + bias + beta * c
//   (native/ops/quant_common/matmul_epilogue.h). Tables of float32 signed partial sums: rounded like a
//   float32 dot product in another order (bound in docs/lut.md); nothing is dequantized.
// Storage of the bit planes (docs/lut.md, "Layout"): each group holds Qg = ceil(gs / 4) quads of 4
// consecutive k (zero-padded at the group's end); quads are numbered qi = g * Qg + j; u = q + 2^(b-1)
// (b >= 2) or (q + 1) / 2 (b = 1); bytes [NB = ceil(N / 16)][KC = ceil(G * Qg / 8)][b][16 rows] of
// u32 words: word (nb, kc, p, r) holds in its nibble j (bits 4j..4j+3) bit p of u for row
// n = 16 nb + r and the 4 k of quad 8 kc + j (bit i of the nibble: the quad's i-th k). Padding is 0.
// Scales float32 [NB][G][16]: s[n, g] at (n / 16, g, n % 16); padded rows hold 0.
#pragma once
#include <cstdint>
#include <string>

#include "../../core/status.h"
#include "../../core/tensor_view.h"
#include "../quant_common/matmul_epilogue.h"

namespace tk {

struct LutLayout {
  int64_t N = 0, K = 0, bits = 0, gs = 0;
  int64_t G = 0, Qg = 0, KQ = 0, KC = 0, NB = 0;
  // Fills the derived sizes; false when the sizes overflow.
  bool init(int64_t n, int64_t k, int64_t b, int64_t group);
  // Bytes of the planes; floats of the scales.
  int64_t plane_bytes() const { return NB * KC * bits * 64; }
  int64_t scale_count() const { return NB * G * 16; }
};

struct LutParams {
  int64_t N = 0;      // weight rows
  TensorView x;       // float32 / bfloat16 [rows, K]
  TensorView planes;  // int8 [plane_bytes] (bytes; the layout above)
  TensorView scales;  // float32 [NB * G * 16] (the layout above)
  TensorView out;     // float32 [rows, N]
  TensorView bias, c;
  float alpha = 1.0f, beta = 0.0f;
  int64_t bits = 0, group_size = 0;
};

struct LutShape {
  int64_t M = 0;
  LutLayout L;
  MatmulEpilogue epi;
};

Status lut_validate(const LutParams& p, LutShape* s);
Status lut_matmul(const LutParams& p);
Status lut_run(const LutParams& p, const LutShape& s);
Status lut_cpu(const LutParams& p, const LutShape& s);
// Every tensor on CUDA device `device` (lut_cuda.cu; the CPU-only build answers ERR_TK_NO_GPU).
// Opt-in until it has run on a GPU: ERR_TK_UNSUPPORTED unless the path is "simt".
Status lut_cuda(const LutParams& p, const LutShape& s, int device);

struct LutQuantizeParams {
  TensorView w;       // float32 [N, K], host, finite (the facade checks)
  TensorView planes;  // int8 [plane_bytes], written
  TensorView scales;  // float32 [NB * G * 16], written
  int64_t bits = 0, group_size = 0;
};
Status lut_quantize_validate(const LutQuantizeParams& p, LutLayout* L);
Status lut_quantize(const LutQuantizeParams& p, const LutLayout& L);

// Debug hooks (native/core/op_hooks.h): "auto" on the CPU; "auto" (= off until verified on a GPU)
// or "simt" on CUDA (TENSORKERN_LUT_KERNEL sets the initial value).
Status lut_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use);
std::string lut_last_kernel(const std::string& device);
bool lut_cuda_enabled();
std::string lut_cuda_last_kernel();

}  // namespace tk
