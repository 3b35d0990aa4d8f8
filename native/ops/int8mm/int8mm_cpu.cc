// The CPU int8mm: four passes, each on the pool's threads.
//   1. outlier columns: |x| >= threshold anywhere in the column (skipped for threshold = +Inf);
//   2. the contract quantizer per row (w4a4_quantize_rows, bits 8: the ISA build of w4a4's), on x
//      with those columns zeroed;
//   3. the exact int8 x int8 -> int32 product on gemm's int8 kernels (AVX-512 VNNI, AVX2, NEON, scalar,
//      picked from CPUID by gemm), reading the weights packed at quantize time when their layout is
//      current (else packing / streaming w, as gemm does); for few rows its skinny kernels stream w;
//   4. the epilogue per row: y = fround(s_x s_w) * fround(acc) (+ the float32 outlier product, a
//      float gemm over the outlier columns), then alpha, bias, beta * c.
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
#include "../w4a4/w4a4.h"
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

// Columns of x [M, K] holding some |x| >= thr, increasing.
Status outlier_columns(const float* x, int64_t M, int64_t K, float thr, std::vector<int32_t>* cols) {
  std::vector<uint8_t> flag(size_t(K), 0);
  TK_RETURN_IF_ERROR(parallel_for((K + 63) / 64, std::max<int64_t>(1, 4096 / std::max<int64_t>(M, 1)), [&](int64_t c0, int64_t c1) {
    const int64_t k0 = c0 * 64, k1 = std::min(K, c1 * 64);
    for (int64_t m = 0; m < M; ++m) {
      const float* r = x + m * K;
      for (int64_t k = k0; k < k1; ++k) flag[k] |= std::fabs(r[k]) >= thr ? 1 : 0;
    }
  }));
  for (int64_t k = 0; k < K; ++k)
    if (flag[k]) cols->push_back(static_cast<int32_t>(k));
  return Status::Ok();
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

  // 1. outlier columns
  std::vector<int32_t> cols;
  if (!std::isinf(p.threshold)) TK_RETURN_IF_ERROR(outlier_columns(x, M, K, p.threshold, &cols));
  const int64_t nO = static_cast<int64_t>(cols.size());

  // 2. activations: x' (outlier columns zeroed) quantized per row
  PooledBuffer qx_buf(size_t(M * K)), sx_buf(size_t(M) * sizeof(float));
  int8_t* qx = qx_buf.as<int8_t>();
  float* sx = sx_buf.as<float>();
  PooledBuffer o_buf;  // the float32 outlier product [M, N]
  if (nO == 0) {
    TK_RETURN_IF_ERROR(w4a4_quantize_rows(p.x, 8, 0, qx, sx));
  } else {
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
    TK_RETURN_IF_ERROR(w4a4_quantize_rows(view2(xz, DType::kFloat32, M, K), 8, 0, qx, sx));
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
    g_ran.set(gemm_cpu_last_kernel());
  }

  // 4. scales, outliers, epilogue
  const float* o = nO > 0 ? o_buf.as<float>() : nullptr;
  return parallel_for(M, std::max<int64_t>(1, 16384 / N), [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      const char* arow = static_cast<const char*>(acc) + size_t(m * N) * sizeof(int32_t);
      float* orow = out + m * N;
      const float sm = sx[m];
      for (int64_t n = 0; n < N; ++n) {
        int32_t a;
        std::memcpy(&a, arow + n * sizeof(int32_t), sizeof a);
        float y = (sm * sw[n]) * static_cast<float>(a);
        if (o) y += o[m * N + n];
        const float v = epi(m, n, y);
        std::memcpy(orow + n, &v, sizeof v);
      }
    }
  });
}

}  // namespace tk
