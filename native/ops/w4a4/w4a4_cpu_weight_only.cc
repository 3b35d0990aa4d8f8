// The weight-only path (int4Matmul): float32 activations times int4 weights dequantized on the fly,
// w = (q - z) * s in float32, accumulated in float32. Few rows (decode): each weight row is unpacked
// once into a K-float buffer in L1 and dotted with every activation row, so the 4-bit weights are
// read once. Many rows: the fp32 GEMM, whose packing dequantizes the weights into its float panels
// (GemmParams::int4_scales), so no float32 copy of the weights is written and read back.
// Rotated weights (quantized after the block Hadamard rotation): x is rotated alike first, in a copy.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "../../core/host_pool.h"
#include "../../core/scratch.h"
#include "../../core/thread_pool.h"
#include "../gemm/gemm.h"
#include "w4a4.h"
#include "w4a4_configs.h"
#include "w4a4_kernels.h"
#include "w4a4_quant.h"

#include "../../core/kernel_record.h"

namespace tk {
namespace w4a4_kernels {
#include "w4a4_weight_only_impl.h"  // the portable decode loop (w4a4_cpu_scalar.cc's)
}  // namespace w4a4_kernels

// The active ISA's decode loop (w4a4_cpu.cc).
w4a4_kernels::WeightOnlyFn w4a4_weight_only_rows_for_active_isa();
// What w4a4_cpu last ran (w4a4_cpu.cc).
CpuKernelRecord& w4a4_cpu_record();

Status w4a4_weight_only(const W4A4Params& p, const W4A4Shape& s) {
  const uint8_t* w = static_cast<const uint8_t*>(p.w.data);
  const float* ws = p.scales.as<float>();
  const int8_t* zp = p.zero_points.ndim >= 0 ? p.zero_points.as<int8_t>() : nullptr;
  const float* x = p.x.as<float>();
  TensorView xv = p.x;
  PooledBuffer xr;
  if (p.rotate_block > 0) {
    // Rotated weights: x rotated the same way (the block Hadamard of the quantizer), in a copy.
    xr = PooledBuffer(size_t(s.M) * size_t(s.K) * sizeof(float));
    float* r = xr.as<float>();
    TK_RETURN_IF_ERROR(parallel_for(s.M, 8, [&](int64_t m0, int64_t m1) {
      std::memcpy(r + m0 * s.K, x + m0 * s.K, size_t(m1 - m0) * size_t(s.K) * sizeof(float));
      for (int64_t m = m0; m < m1; ++m) w4a4_quant::hadamard_rows(r + m * s.K, s.K, p.rotate_block);
    }));
    x = r;
    xv.data = r;
  }
  float* out = p.out.as<float>();
  if (s.M <= w4a4_configs::kWeightOnlyFusedMaxRows) {
    w4a4_cpu_record().set("weight-only: fused dequantize + dot");
    w4a4_kernels::WeightOnlyArgs a{x, s.M, s.K, w, ws, zp, p.group_size, s.epi, out, s.N};
    const auto rows = w4a4_weight_only_rows_for_active_isa();
    return parallel_for(s.N, 16, [&](int64_t n0, int64_t n1) {
      float* buf = static_cast<float*>(thread_scratch(ScratchSlot::kPackB, size_t(s.K) * sizeof(float) + 64));
      rows(a, n0, n1, buf);
    });
  }
  w4a4_cpu_record().set("weight-only: fp32 gemm, dequantized while packing");
  GemmParams g;
  g.a = xv;
  g.b = p.w;  // int4 [N, K], dequantized as gemm packs it (GemmParams::int4_scales)
  g.int4_scales = ws;
  g.int4_zeros = zp;
  g.int4_group = p.group_size;
  g.c = p.c;  // absent, or [M, N]
  if (!s.epi.c) {
    g.c.ndim = -1;
    g.c.data = nullptr;
  }
  g.alpha = p.alpha;
  g.beta = s.epi.c ? p.beta : 0.0f;
  g.bias = p.bias;
  g.out = p.out;
  g.trans_b = true;
  return gemm(g);
}

}  // namespace tk
