// The CPU int8mm, in passes on the pool's threads:
//   1. every row of x through the contract quantizer (int8mm_quant.h, the ISA build), its outlier
//      scan fused in (|x| >= threshold; none for threshold = +Inf);
//   2. only when some column holds an outlier: x' (those columns zeroed) quantized again, and the
//      outlier part o = x[:, O] . (q_w[:, O] s_w)^T as a float32 gemm;
//   3. the exact int8 x int8 -> int32 product on gemm's int8 kernels (AVX-512 VNNI, AVX2, NEON, scalar,
//      picked from CPUID by gemm), reading the weights packed at quantize time when their layout is
//      current (else packing / streaming w, as gemm does); for few rows its skinny kernels stream w;
//   4. the epilogue, run by gemm on each region of the product as soon as its kernel finished it (a
//      microkernel tile, a skinny column chunk): y = fround(s_x s_w) * fround(acc) (+ o), then alpha,
//      bias, beta * c.
// The int32 product is written into out itself (same size) unless c shares out's memory.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "../../core/host_pool.h"
#include "../../core/kernel_record.h"
#include "../../core/thread_pool.h"
#include "../gemm/gemm.h"
#include "int8mm_quant.h"
#include "int8mm.h"

namespace tk {
namespace {

CpuKernelRecord g_ran;

// Columns of x [M, K] holding some |x| >= thr, increasing, from the rows the quantizer flagged
// (rare: LLM.int8()'s outliers sit in a few columns of a few tokens).
void outlier_columns(const float* x, int64_t M, int64_t K, float thr, const uint8_t* hit_row, std::vector<int32_t>* cols) {
  std::vector<uint8_t> flag(size_t(K), 0);
  for (int64_t m = 0; m < M; ++m)
    if (hit_row[m])
      for (int64_t k = 0; k < K; ++k) flag[k] |= std::fabs(x[m * K + k]) >= thr ? 1 : 0;
  for (int64_t k = 0; k < K; ++k)
    if (flag[k]) cols->push_back(static_cast<int32_t>(k));
}

// Step 4 of a region of acc (rows [i0, i0 + rows), columns [j0, j0 + cols) of [M, N]):
// y = fround(s_x s_w) * fround(acc) (+ o), then alpha, bias, beta * c, into out. Per row in chunks
// of kChunk columns, acc read before out is written (they may be the same memory).
struct FinishRegion {
  int32_t* acc;
  float* out;
  const float *sx, *sw, *o;
  const MatmulEpilogue* epi;
  int64_t N;
  int8mm_kernels::ScaleRowFn scale_row;
  static void run(void* ctx, int64_t, int64_t i0, int64_t j0, int64_t rows, int64_t cols) {
    const FinishRegion& f = *static_cast<const FinishRegion*>(ctx);
    finish_int32_region(f.acc, f.out, f.N, *f.epi, i0, j0, rows, cols, [&](int64_t m, int64_t n0, int64_t len, const int32_t* a, float* y) {
      f.scale_row(a, f.sw + n0, f.sx[m], len, y);
      if (f.o) {
        const float* oc = f.o + m * f.N + n0;
        for (int64_t j = 0; j < len; ++j) y[j] += oc[j];
      }
    });
  }
};

}  // namespace

const char* int8mm_cpu_last_kernel() { return g_ran.get(); }

Status int8mm_cpu(const Int8MmParams& p, const Int8MmShape& s) {
  const int64_t M = s.M, N = s.N, K = s.K;
  if (M == 0 || N == 0) return Status::Ok();
  SerialScope serial(2.0 * double(M) * double(N) * double(K) < kSerialWork);
  const MatmulEpilogue& epi = s.epi;
  float* out = p.out.as<float>();
  if (K == 0) {
    g_ran.set("epilogue only (K = 0)");
    return parallel_for(M, 64, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m)
        for (int64_t n = 0; n < N; ++n) {
          const float v = epi(m, n, 0.0f);
          out[m * N + n] = v;
        }
    });
  }
  const float* x = p.x.as<float>();
  const int8_t* w = p.w.as<int8_t>();
  const float* sw = p.scales.as<float>();

  // 1. every row quantized, with the outlier scan fused (one read of x); 2. when some column holds
  // an outlier, x' (those columns zeroed) is quantized again and the outlier part set up.
  const auto quant_rows = int8mm_kernels::quant_rows_for_active_isa();
  PooledBuffer qx_buf(size_t(M * K)), sx_buf(size_t(M) * sizeof(float)), hit_buf{size_t(M)};
  int8_t* qx = qx_buf.as<int8_t>();
  float* sx = sx_buf.as<float>();
  uint8_t* hit = hit_buf.as<uint8_t>();
  const int64_t grain = std::max<int64_t>(1, 16384 / K);
  TK_RETURN_IF_ERROR(parallel_for(M, grain, [&](int64_t m0, int64_t m1) { quant_rows(x, K, m0, m1, p.threshold, qx, sx, hit); }));
  std::vector<int32_t> cols;
  if (std::any_of(hit, hit + M, [](uint8_t h) { return h != 0; })) outlier_columns(x, M, K, p.threshold, hit, &cols);
  const int64_t nO = static_cast<int64_t>(cols.size());
  PooledBuffer o_buf;  // the float32 outlier product [M, N]
  if (nO > 0) {
    PooledBuffer xz_buf(size_t(M * K) * sizeof(float)), xo_buf(size_t(M * nO) * sizeof(float)), wo_buf(size_t(N * nO) * sizeof(float));
    float *xz = xz_buf.as<float>(), *xo = xo_buf.as<float>(), *wo = wo_buf.as<float>();
    TK_RETURN_IF_ERROR(parallel_for(M, 16, [&](int64_t m0, int64_t m1) {
      for (int64_t m = m0; m < m1; ++m) {
        std::memcpy(xz + m * K, x + m * K, size_t(K) * sizeof(float));
        for (int64_t j = 0; j < nO; ++j) {
          xo[m * nO + j] = x[m * K + cols[j]];
          xz[m * K + cols[j]] = 0.0f;
        }
      }
    }));
    TK_RETURN_IF_ERROR(parallel_for(N, 64, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t j = 0; j < nO; ++j) wo[n * nO + j] = static_cast<float>(w[n * K + cols[j]]) * sw[n];
    }));
    TK_RETURN_IF_ERROR(parallel_for(M, grain, [&](int64_t m0, int64_t m1) { quant_rows(xz, K, m0, m1, INFINITY, qx, sx, hit); }));
    o_buf = PooledBuffer(size_t(M * N) * sizeof(float));
    GemmParams g;
    g.a = host_view2(xo, DType::kFloat32, M, nO);
    g.b = host_view2(wo, DType::kFloat32, N, nO);
    g.trans_b = true;
    g.c = absent_view();
    g.bias = absent_view();
    g.out = host_view2(o_buf.data(), DType::kFloat32, M, N);
    TK_RETURN_IF_ERROR(gemm(g));
  }

  // 3. acc = q_x q_w^T, exact, into out's memory unless c shares it; 4. each region of acc, as soon
  // as gemm's kernel finished it (still in cache), through the scales, outliers and epilogue into out.
  // (As a pass after gemm, step 4 read all of acc back from memory and wrote out: 2 x 64 MB at 4096^3.)
  const bool c_in_out = epi.c != nullptr && bytes_overlap(epi.c, size_t(M * N) * sizeof(float), out, size_t(M * N) * sizeof(float));
  PooledBuffer acc_buf(c_in_out ? size_t(M * N) * sizeof(int32_t) : 0);
  FinishRegion fin{c_in_out ? acc_buf.as<int32_t>() : reinterpret_cast<int32_t*>(out),
                   out,
                   sx,
                   sw,
                   nO > 0 ? o_buf.as<float>() : nullptr,
                   &epi,
                   N,
                   int8mm_kernels::scale_row_for_active_isa()};
  GemmParams g;
  g.a = host_view2(qx, DType::kInt8, M, K);
  g.b = p.w;
  g.trans_b = true;
  g.c = absent_view();
  g.bias = absent_view();
  g.out = host_view2(fin.acc, DType::kInt32, M, N);
  g.packed_b = p.packed;
  g.packed_layout = p.packed_layout;
  g.on_done = FinishRegion::run;
  g.on_done_ctx = &fin;
  TK_RETURN_IF_ERROR(gemm(g));
  g_ran.set(gemm_cpu_last_kernel());  // the quantizer's ISA follows the same cap
  return Status::Ok();
}

}  // namespace tk
