// W4A4 / W4A8 on gemm's int8 kernels. Per channel (one scale group spanning K) the whole K reduction
// is a single exact int32 dot product per output, so the product is gemm's int8 x int8 -> int32
// (AVX-512 VNNI / AVX2 / NEON / scalar, blocked and packed for the cache) and the contract's float
// part -- y = s_x[m] * (s_w[n] * acc), the outlier channels, alpha, bias, beta * c -- runs in gemm's
// on_done hook on each finished region while it is still in cache (as int8Matmul's). In weight groups
// (where gemm_cpu_grouped_fits: AVX-512 VNNI) gemm's grouped kernels leave sum_g s_w[n,g] * acc_g in
// float32, and the hook multiplies by s_x[m].
// The activations go through the contract quantizer (w4a4_quant.h, the ISA build) into plain rows of
// q, and the int4 weights are widened to int8 once per call. The tile kernels (w4a4_cpu.cc) stay for
// few rows, where streaming the 4-bit weights beats gemm's int8 ones, and for the groups the grouped
// kernels do not take.
#include <algorithm>
#include <atomic>
#include <cstring>

#include "../../core/host_pool.h"
#include "../../core/scratch.h"
#include "../../core/thread_pool.h"
#include "../gemm/gemm.h"
#include "w4a4.h"
#include "w4a4_kernels.h"
#include "w4a4_quant.h"

namespace tk {

namespace {

// Low nibble first (docs/design.md): byte b holds k = 2i (bits 0-3) and 2i + 1 (bits 4-7), two's
// complement. Written so the compiler vectorizes it.
void widen_int4(const uint8_t* src, int64_t bytes, int8_t* dst) {
  for (int64_t i = 0; i < bytes; ++i) {
    const uint8_t b = src[i];
    dst[2 * i] = static_cast<int8_t>(static_cast<int8_t>(b << 4) >> 4);
    dst[2 * i + 1] = static_cast<int8_t>(static_cast<int8_t>(b) >> 4);
  }
}

struct Finish {
  int32_t* acc;  // [M, N] int32, rewritten in place as float32 out unless c shares out
  float* out;
  const float *sx, *sw;
  const int8_t *qo, *wo;  // outlier channels (nO > 0)
  const float *so, *wos;
  int64_t nO, N;
  bool grouped;  // acc holds float32 sum_g s_w * acc_g (gemm's grouped kernels)
  const MatmulEpilogue* epi;
  static void run(void* ctx, int64_t, int64_t i0, int64_t j0, int64_t rows, int64_t cols) {
    const Finish& f = *static_cast<const Finish*>(ctx);
    finish_int32_region(f.acc, f.out, f.N, *f.epi, i0, j0, rows, cols, [&](int64_t m, int64_t n0, int64_t len, const int32_t* a, float* y) {
      // The plain loop's order (w4a4_plain.cc): (s_w * acc) * s_x (the group sum times s_x), then the
      // outlier part.
      const float xs = f.sx[m];
      if (f.grouped) {
        std::memcpy(y, a, size_t(len) * sizeof(float));  // the float32 group sums
        for (int64_t j = 0; j < len; ++j) y[j] *= xs;
      } else {
        for (int64_t j = 0; j < len; ++j) y[j] = (f.sw[n0 + j] * float(a[j])) * xs;
      }
      if (f.nO > 0) {
        const int8_t* qm = f.qo + m * f.nO;
        for (int64_t j = 0; j < len; ++j) {
          const int8_t* wn = f.wo + (n0 + j) * f.nO;
          int32_t s = 0;  // |s| <= nO * 128 * 127
          for (int64_t t = 0; t < f.nO; ++t) s += int32_t(qm[t]) * int32_t(wn[t]);
          y[j] += f.so[m] * f.wos[n0 + j] * float(s);
        }
      }
    });
  }
};

}  // namespace

bool w4a4_gemm_route_fits(const W4A4Params& p, const W4A4Shape& s) {
  return (s.G == 1 || (!present(p.zero_points) && gemm_cpu_grouped_fits(s.K / s.G, s.K))) && (p.act_bits == 4 || p.act_bits == 8) &&
         s.K > 0 && s.M > 0 && s.N > 0;
}

Status w4a4_via_gemm(const W4A4Params& p, const W4A4Shape& s) {
  const int64_t M = s.M, N = s.N, K = s.K, nO = s.nO;
  float* out = p.out.as<float>();
  const bool prequantized = present(p.x_scales);

  // 1. q_x [M, K] (plain rows), s_x, the int8 outlier channels; or the caller's q checked for range.
  PooledBuffer q_buf(prequantized ? 0 : size_t(M * K)), sx_buf(prequantized ? 0 : size_t(M) * sizeof(float));
  PooledBuffer qo_buf(size_t(M * nO)), so_buf(nO ? size_t(M) * sizeof(float) : 0);
  const int8_t* qx = prequantized ? p.x.as<int8_t>() : q_buf.as<int8_t>();
  const float* sx = prequantized ? p.x_scales.as<float>() : sx_buf.as<float>();
  const int32_t* oidx = nO ? p.outlier_idx.as<int32_t>() : nullptr;
  if (prequantized) {
    const int qmin = p.act_bits == 8 ? -128 : -8, qmax = p.act_bits == 8 ? 127 : 7;
    std::atomic<int64_t> bad_row{-1};
    TK_RETURN_IF_ERROR(parallel_for(M, std::max<int64_t>(1, 16384 / K), [&](int64_t r0, int64_t r1) {
      for (int64_t m = r0; m < r1; ++m) {
        const int8_t* r = qx + m * K;
        int lo = 0, hi = 0;
        for (int64_t k = 0; k < K; ++k) lo = std::min<int>(lo, r[k]), hi = std::max<int>(hi, r[k]);
        if (lo < qmin || hi > qmax) bad_row.store(m);
      }
    }));
    if (bad_row.load() >= 0) {
      return InvalidArgument("Expected quantized activations in [" + std::string(p.act_bits == 8 ? "-128, 127" : "-8, 7") + "] but row " +
                             std::to_string(bad_row.load()) + " holds a value outside");
    }
  } else {
    TK_RETURN_IF_ERROR(w4a4_quantize_rows(p.x, p.act_bits, p.rotate_block, q_buf.as<int8_t>(), sx_buf.as<float>(), oidx, nO,
                                          qo_buf.as<int8_t>(), so_buf.as<float>()));
  }

  // 2. The weights widened to int8 [N, K] (K is even: every row starts on a byte).
  PooledBuffer w_buf(size_t(N * K));
  int8_t* w8 = w_buf.as<int8_t>();
  const uint8_t* w4 = static_cast<const uint8_t*>(p.w.data);
  TK_RETURN_IF_ERROR(parallel_for(N, std::max<int64_t>(1, 65536 / K),
                                  [&](int64_t n0, int64_t n1) { widen_int4(w4 + n0 * (K / 2), (n1 - n0) * (K / 2), w8 + n0 * K); }));

  // 3. acc = q_x w^T on gemm's int8 kernels, into out's memory unless c shares it; 4. each finished
  // region through the scales, outliers and epilogue into out.
  const MatmulEpilogue& epi = s.epi;
  const bool c_in_out = epi.c != nullptr && bytes_overlap(epi.c, size_t(M * N) * sizeof(float), out, size_t(M * N) * sizeof(float));
  PooledBuffer acc_buf(c_in_out ? size_t(M * N) * sizeof(int32_t) : 0);
  // Groups: s_w transposed to [G, N], a row of scales per group for the kernels' columns.
  const int64_t G = s.G;
  PooledBuffer gs_buf(G > 1 ? size_t(G * N) * sizeof(float) : 0);
  if (G > 1) {
    const float* sw = p.scales.as<float>();
    float* t = gs_buf.as<float>();
    TK_RETURN_IF_ERROR(parallel_for(N, 256, [&](int64_t n0, int64_t n1) {
      for (int64_t n = n0; n < n1; ++n)
        for (int64_t g = 0; g < G; ++g) t[g * N + n] = sw[n * G + g];
    }));
  }
  Finish fin{c_in_out ? acc_buf.as<int32_t>() : reinterpret_cast<int32_t*>(out),
             out,
             sx,
             p.scales.as<float>(),
             qo_buf.as<int8_t>(),
             nO ? p.outlier_w.as<int8_t>() : nullptr,
             so_buf.as<float>(),
             nO ? p.outlier_scales.as<float>() : nullptr,
             nO,
             N,
             G > 1,
             &epi};
  GemmParams g;
  g.a = host_view2(const_cast<int8_t*>(qx), DType::kInt8, M, K);
  g.b = host_view2(w8, DType::kInt8, N, K);
  g.trans_b = true;
  g.c = absent_view();
  g.bias = absent_view();
  g.out = host_view2(fin.acc, DType::kInt32, M, N);
  g.on_done = Finish::run;
  g.on_done_ctx = &fin;
  if (G > 1) {
    g.group_scales = gs_buf.as<float>();
    g.group_size = K / G;
  }
  return gemm(g);
}

}  // namespace tk
