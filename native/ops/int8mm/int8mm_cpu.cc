// The CPU int8mm, in passes on the pool's threads:
//   1. every row of x through the contract quantizer (int8mm_quant.h, the ISA build), its outlier
//      scan fused in (|x| >= threshold; none for threshold = +Inf);
//   2. only when some column holds an outlier: x' (those columns zeroed) quantized again, and the
//      outlier part o = x[:, O] . (q_w[:, O] s_w)^T as a float32 gemm;
//   3. the exact int8 x int8 -> int32 product on gemm's int8 kernels (AVX-512 VNNI, AVX2, NEON, scalar,
//      picked from CPUID by gemm), reading the weights packed at quantize time when their layout is
//      current (else packing / streaming w, as gemm does); for few rows its skinny kernels stream w;
//   4. the epilogue per row chunk: y = fround(s_x s_w) * fround(acc) (+ o), then alpha, bias, beta * c.
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

TensorView view2(void* data, DType dt, int64_t r, int64_t c) {
  TensorView t;
  const int64_t dims[2] = {r, c};
  (void)make_shape(dt, dims, 2, &t);  // sizes come from validated tensors
  t.data = data;
  return t;
}

TensorView absent() {
  TensorView t;
  t.ndim = -1;
  return t;
}

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

bool overlaps(const void* a, size_t an, const void* b, size_t bn) {
  const char *pa = static_cast<const char*>(a), *pb = static_cast<const char*>(b);
  return pa < pb + bn && pb < pa + an;
}

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
    g.a = view2(xo, DType::kFloat32, M, nO);
    g.b = view2(wo, DType::kFloat32, N, nO);
    g.trans_b = true;
    g.c = absent();
    g.bias = absent();
    g.out = view2(o_buf.data(), DType::kFloat32, M, N);
    TK_RETURN_IF_ERROR(gemm(g));
  }

  // 3. acc = q_x q_w^T, exact, into out's memory unless c shares it
  const bool c_in_out = epi.c != nullptr && overlaps(epi.c, size_t(M * N) * sizeof(float), out, size_t(M * N) * sizeof(float));
  PooledBuffer acc_buf(c_in_out ? size_t(M * N) * sizeof(int32_t) : 0);
  void* acc = c_in_out ? acc_buf.data() : static_cast<void*>(out);
  {
    GemmParams g;
    g.a = view2(qx, DType::kInt8, M, K);
    g.b = p.w;
    g.trans_b = true;
    g.c = absent();
    g.bias = absent();
    g.out = view2(acc, DType::kInt32, M, N);
    g.packed_b = p.packed;
    g.packed_layout = p.packed_layout;
    TK_RETURN_IF_ERROR(gemm(g));
    g_ran.set(gemm_cpu_last_kernel());  // the quantizer's ISA follows the same cap
  }

  // 4. scales, outliers, epilogue: per row in chunks of kChunk columns (acc copied out first, as it
  // may share out's memory; the loops vectorize).
  const float* o = nO > 0 ? o_buf.as<float>() : nullptr;
  constexpr int64_t kChunk = 256;
  return parallel_for(M, std::max<int64_t>(1, 16384 / N), [&](int64_t m0, int64_t m1) {
    alignas(64) int32_t a[kChunk];
    alignas(64) float y[kChunk];
    for (int64_t m = m0; m < m1; ++m) {
      const char* arow = static_cast<const char*>(acc) + size_t(m * N) * sizeof(int32_t);
      const float sm = sx[m];
      for (int64_t n0 = 0; n0 < N; n0 += kChunk) {
        const int64_t len = std::min(kChunk, N - n0);
        std::memcpy(a, arow + n0 * sizeof(int32_t), size_t(len) * sizeof(int32_t));
        const float* swc = sw + n0;
        for (int64_t j = 0; j < len; ++j) y[j] = (sm * swc[j]) * static_cast<float>(a[j]);
        if (o) {
          const float* oc = o + m * N + n0;
          for (int64_t j = 0; j < len; ++j) y[j] += oc[j];
        }
        epi.apply_row(m, n0, n0 + len, y);
        std::memcpy(out + m * N + n0, y, size_t(len) * sizeof(float));
      }
    }
  });
}

}  // namespace tk
