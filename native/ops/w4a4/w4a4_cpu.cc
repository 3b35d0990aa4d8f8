// The ISA-neutral CPU W4A4 driver: one fused pass quantizes (and rotates) the activations into the
// kernels' layout with their per-group offset corrections, then the pool's threads take blocks of
// out (rows x weight rows) dynamically; each block's epilogue (s_x, outlier channels, bias) runs
// right after its kernel, while the block is in cache. The weight-only path lives in
// w4a4_cpu_weight_only.cc.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "../../core/cpu_features.h"
#include "../../core/host_pool.h"
#include "../../core/isa_table.h"
#include "../../core/scratch.h"
#include "../../core/thread_pool.h"
#include "w4a4.h"
#include "w4a4_configs.h"
#include "w4a4_kernels.h"
#include "w4a4_quant.h"

#include "../../core/kernel_record.h"

namespace tk {

Status w4a4_weight_only(const W4A4Params& p, const W4A4Shape& s);  // w4a4_cpu_weight_only.cc
// w4a4_cpu_gemm.cc: per channel on gemm's int8 kernels.
bool w4a4_gemm_route_fits(const W4A4Params& p, const W4A4Shape& s);
Status w4a4_via_gemm(const W4A4Params& p, const W4A4Shape& s);

namespace {

using w4a4_kernels::IntArgs;
using w4a4_kernels::Kernels;

const Kernels& kernels_for(Isa isa) {
  return isa_table<Kernels>(isa, [](Isa isa, Kernels* table) {
    Kernels& k = *table;
    w4a4_kernels::get_kernels_scalar(&k);
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == Isa::kAvx2 || isa == Isa::kAvx512) w4a4_kernels::get_kernels_avx2(&k);
    if (isa == Isa::kAvx512 && cpu_features().avx512vnni && cpu_features().avx512vl) w4a4_kernels::get_kernels_avx512(&k);
#endif
#if defined(__aarch64__)
    if (isa == Isa::kNeon) w4a4_kernels::get_kernels_neon(&k);
#endif
  });
}

const Kernels& pick(int64_t gs, int64_t K) {
  const Kernels& k = kernels_for(active_isa());
  return k.fits(gs, K) ? k : kernels_for(Isa::kScalar);
}

constexpr int64_t kBlockN = 128;  // weight rows per block: 128 * K/2 bytes (256 KB at K = 4096) stay in L2
constexpr int64_t kBlockM = 256;  // activation rows per block (only split when M is large)

// Which kernels run a call the gemm route can take (per channel, 4- or 8-bit activations): the route
// from w4a4_configs::kGemmRouteMinRows rows up, where gemm's int8 kernels beat the tile kernels and
// widening the weights to int8 is paid for; below it the tile kernels stream the 4-bit weights.
std::atomic<int> g_route{0};  // 0 auto, 1 tiles, 2 gemm (the test hook)

}  // namespace

w4a4_kernels::WeightOnlyFn w4a4_weight_only_rows_for_active_isa() { return kernels_for(active_isa()).weight_only_rows; }

CpuKernelRecord& w4a4_cpu_record() {
  static CpuKernelRecord r;
  return r;
}

const char* w4a4_cpu_last_kernel() { return w4a4_cpu_record().get(); }

bool w4a4_cpu_set_route(const std::string& path) {
  const int r = path == "auto" ? 0 : path == "tiles" ? 1 : path == "gemm" ? 2 : -1;
  if (r < 0) return false;
  g_route.store(r, std::memory_order_relaxed);
  return true;
}

Status w4a4_quantize_rows(const TensorView& x, int bits, int64_t rotate_block, int8_t* q, float* scales, const int32_t* oidx, int64_t nO,
                          int8_t* qo, float* so) {
  const int64_t M = x.shape[0], K = x.shape[1];
  const float* xd = x.as<float>();
  const auto quantize_row = kernels_for(active_isa()).quantize_row;
  return parallel_for(M, std::max<int64_t>(1, 16384 / std::max<int64_t>(K, 1)), [&](int64_t r0, int64_t r1) {
    float* buf = static_cast<float*>(thread_scratch(ScratchSlot::kPackA, size_t(K) * sizeof(float) + 64));
    for (int64_t m = r0; m < r1; ++m) {
      w4a4_quant::RowOut o;
      o.q = q + m * K;
      o.chunked = false;
      o.scale = scales + m;
      o.qo = nO > 0 ? qo + m * nO : nullptr;
      o.so = nO > 0 ? so + m : nullptr;
      quantize_row(xd + m * K, K, bits, rotate_block, oidx, nO, buf, o);
    }
  });
}

Status w4a4_cpu(const W4A4Params& p, const W4A4Shape& s) {
  if (s.M == 0 || s.N == 0) return Status::Ok();
  SerialScope serial(2.0 * double(s.M) * double(s.N) * double(s.K) < kSerialWork);
  float* out = p.out.as<float>();
  if (s.K == 0) {
    for (int64_t m = 0; m < s.M; ++m)
      for (int64_t n = 0; n < s.N; ++n) out[m * s.N + n] = s.epi(m, n, 0.0f);
    return Status::Ok();
  }
  if (p.act_bits == 0) return w4a4_weight_only(p, s);
  if (w4a4_gemm_route_fits(p, s)) {
    const int route = g_route.load(std::memory_order_relaxed);
    if (route == 2 || (route == 0 && s.M >= w4a4_configs::kGemmRouteMinRows)) {
      w4a4_cpu_record().set(s.G == 1 ? "int8 gemm route (per channel)" : "int8 gemm route (groups)");
      return w4a4_via_gemm(p, s);
    }
  }

  // Quantized activations, corrections, scales, outliers: one allocation from this thread's
  // scratch (it persists across calls, so large calls do not page-fault on fresh memory).
  const int64_t Kp = (s.K + 63) & ~int64_t(63);
  auto up64 = [](int64_t b) { return (b + 63) & ~int64_t(63); };
  const int64_t qa_b = up64(s.M * Kp), corr_b = up64(s.M * s.G * 4), sx_b = up64(s.M * 4), qo_b = up64(s.M * s.nO), so_b = up64(s.M * 4);
  char* base = static_cast<char*>(thread_scratch(ScratchSlot::kWork, size_t(qa_b + corr_b + sx_b + qo_b + so_b)));
  int8_t* qa = reinterpret_cast<int8_t*>(base);
  int32_t* corr = reinterpret_cast<int32_t*>(base + qa_b);
  float* sx = reinterpret_cast<float*>(base + qa_b + corr_b);
  int8_t* qo = reinterpret_cast<int8_t*>(base + qa_b + corr_b + sx_b);
  float* so = reinterpret_cast<float*>(base + qa_b + corr_b + sx_b + qo_b);
  const int32_t* oidx = s.nO ? p.outlier_idx.as<int32_t>() : nullptr;
  // Each row of the kernels' activation operand: quantized on the fly (fused, rotated when w is), or
  // laid out from quantizeActivationsInt4's q values (no rounding again).
  const bool prequantized = present(p.x_scales);
  const auto quantize_row = kernels_for(active_isa()).quantize_row;
  std::atomic<int64_t> bad_row{-1};
  TK_RETURN_IF_ERROR(parallel_for(s.M, 8, [&](int64_t r0, int64_t r1) {
    float* buf = prequantized ? nullptr : static_cast<float*>(thread_scratch(ScratchSlot::kPackA, size_t(s.K) * sizeof(float) + 64));
    for (int64_t m = r0; m < r1; ++m) {
      w4a4_quant::RowOut o;
      o.q = qa + m * Kp;
      o.scale = sx + m;
      o.corr = corr + m * s.G;
      o.gs = p.group_size;
      o.qo = qo + m * s.nO;
      o.so = so + m;
      if (!prequantized)
        quantize_row(p.x.as<float>() + m * s.K, s.K, p.act_bits, p.rotate_block, oidx, s.nO, buf, o);
      else if (!w4a4_quant::pack_row(p.x.as<int8_t>() + m * s.K, s.K, p.act_bits, p.x_scales.as<float>()[m], o))
        bad_row.store(m);
    }
  }));
  if (bad_row.load() >= 0) {
    return InvalidArgument("Expected quantized activations in [" + std::string(p.act_bits == 8 ? "-128, 127" : "-8, 7") + "] but row " +
                           std::to_string(bad_row.load()) + " holds a value outside");
  }

  const Kernels& k = pick(p.group_size, s.K);
  w4a4_cpu_record().set(k.name);
  IntArgs a;
  a.qa = qa;
  a.Kp = Kp;
  a.corr = corr;
  a.w = static_cast<const uint8_t*>(p.w.data);
  a.K = s.K;
  a.ws = p.scales.as<float>();
  a.G = s.G;
  a.gs = p.group_size;
  a.out = out;
  a.ldo = s.N;
  a.act_bits = p.act_bits;
  a.prefetch = s.M <= 16;
  const int8_t* wo = s.nO ? p.outlier_w.as<int8_t>() : nullptr;
  const float* wos = s.nO ? p.outlier_scales.as<float>() : nullptr;

  // The block kernels write their sums into out before the epilogue reads c: a c that is out
  // itself (an in-place residual add) is read from a copy.
  MatmulEpilogue epi = s.epi;
  PooledBuffer c_copy;
  if (epi.c == out) {
    c_copy = PooledBuffer(size_t(s.M) * size_t(s.N) * sizeof(float));
    std::memcpy(c_copy.data(), out, size_t(s.M) * size_t(s.N) * sizeof(float));
    epi.c = c_copy.as<float>();
  }
  const int nt = num_threads();
  // Smaller weight blocks when there are too few for the threads (decode shapes, small N).
  const int64_t bn = std::max<int64_t>(2, std::min<int64_t>(kBlockN, (s.N + 2 * nt - 1) / (2 * nt) + 1) & ~int64_t(1));
  const int64_t nbn = (s.N + bn - 1) / bn, nbm = (s.M + kBlockM - 1) / kBlockM;
  const int64_t items = nbn * nbm;
  std::atomic<int64_t> next{0};
  return parallel_run(static_cast<int>(std::min<int64_t>(items, nt)), [&](int, int) {
    for (int64_t it = next++; it < items; it = next++) {
      const int64_t bm = it % nbm, bnn = it / nbm;
      const int64_t m0 = bm * kBlockM, m1 = std::min(s.M, m0 + kBlockM);
      const int64_t n0 = bnn * bn, n1 = std::min(s.N, n0 + bn);
      k.block(a, m0, m1, n0, n1);
      for (int64_t m = m0; m < m1; ++m) {
        float* o = out + m * s.N;
        const float xs = sx[m];
        for (int64_t n = n0; n < n1; ++n) {
          float y = xs * o[n];
          if (wo) {
            int32_t acc = 0;  // |acc| <= nO * 128 * 127
            const int8_t* qm = qo + m * s.nO;
            const int8_t* wn = wo + n * s.nO;
            for (int64_t j = 0; j < s.nO; ++j) acc += int32_t(qm[j]) * int32_t(wn[j]);
            y += so[m] * wos[n] * float(acc);
          }
          o[n] = epi(m, n, y);
        }
      }
    }
  });
}

}  // namespace tk
