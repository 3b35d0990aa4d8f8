// The ISA-neutral CPU bitmm driver: the pool's threads take blocks of out (rows of a x rows of b)
// dynamically; inside a block, each 4 x 4 tile of out runs the ISA kernel once per plane pair and
// combines the counts with the planes' weights (bitmm.h), then writes int32 (+ c) or the float epilogue.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "../../core/cpu_features.h"
#include "../../core/isa_table.h"
#include "../../core/kernel_record.h"
#include "../../core/thread_pool.h"
#include "../gemm/gemm.h"
#include "bitmm.h"
#include "bitmm_configs.h"
#include "bitmm_kernels.h"

namespace tk {
namespace {

using bitmm_kernels::Kernels;
using bitmm_kernels::kTile;

std::atomic<bool> g_bytewise{false};  // bitmm_set_path("cpu", "vpopcntb")
std::atomic<bool> g_planes{false};    // bitmm_set_path("cpu", "planes"): never the int8 route
std::atomic<bool> g_int8{false};      // bitmm_set_path("cpu", "int8"): the int8 route wherever the values fit int8

const Kernels& kernels_for(Isa isa, bool bytewise) {
  auto fill = [bytewise](Isa isa, Kernels* k) {
    bitmm_kernels::get_kernels_scalar(k);
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == Isa::kAvx2 || isa == Isa::kAvx512) bitmm_kernels::get_kernels_avx2(k);
    if (isa == Isa::kAvx512) bitmm_kernels::get_kernels_avx512(k, bytewise);  // keeps avx2 without the extension
#endif
#if defined(__aarch64__)
    if (isa == Isa::kNeon) bitmm_kernels::get_kernels_neon(k);
#endif
    (void)bytewise;
  };
  struct Bytewise : Kernels {};
  return bytewise ? static_cast<const Kernels&>(isa_table<Bytewise>(isa, [&](Isa i, Bytewise* k) { fill(i, k); }))
                  : isa_table<Kernels>(isa, fill);
}

CpuKernelRecord& record() {
  static CpuKernelRecord r;
  return r;
}

// Plane weights: value = sum_i wt[i] * plane_i, plane_i in {0, 1} or (bipolar) {-1, +1}.
void plane_weights(int format, int bits, int64_t* wt) {
  for (int i = 0; i < bits; ++i) wt[i] = int64_t(1) << i;
  if (format == int(BitFormat::kInt)) wt[bits - 1] = -wt[bits - 1];
}

// Per row, sum_i wt[i] * popcount(plane i): the correction of a bipolar plane against 0/1 planes.
void weighted_counts(const uint64_t* planes, int64_t rows, int bits, int64_t W, const int64_t* wt, int64_t* cnt) {
  for (int64_t r = 0; r < rows; ++r) {
    int64_t s = 0;
    for (int i = 0; i < bits; ++i) {
      int64_t c = 0;
      for (int64_t w = 0; w < W; ++w) c += __builtin_popcountll(planes[(r * bits + i) * W + w]);
      s += wt[i] * c;
    }
    cnt[r] = s;
  }
}

}  // namespace

const char* bitmm_cpu_last_kernel() { return record().get(); }

bool bitmm_cpu_set_path(const std::string& path) {
  if (path != "auto" && path != "vpopcntb" && path != "planes" && path != "int8") return false;
  g_bytewise = path == "vpopcntb";
  g_planes = path == "planes";
  g_int8 = path == "int8";
  return true;
}

namespace {

// Whether every value of the format fits int8.
bool fits_int8(int format, int bits) { return format == int(BitFormat::kInt) ? bits <= 8 : bits <= 7; }

// One row of planes -> its int8 values: the codes a byte at a time (8 elements per plane byte, spread
// by a table into 8 byte lanes), then code -> value by the format's table.
void unpack_row(const uint64_t* planes, int bits, int format, int64_t W, int64_t K, const int8_t* value_of, int8_t* out) {
  static const uint64_t* spread = [] {
    static uint64_t t[256];
    for (int b = 0; b < 256; ++b) {
      uint64_t v = 0;
      for (int e = 0; e < 8; ++e) v |= uint64_t((b >> e) & 1) << (8 * e);
      t[b] = v;
    }
    return t;
  }();
  (void)format;
  for (int64_t w = 0; w < W; ++w)
    for (int byte = 0; byte < 8; ++byte) {
      const int64_t k0 = w * 64 + byte * 8;
      if (k0 >= K) return;
      uint64_t codes = 0;
      for (int i = 0; i < bits; ++i) codes |= spread[(planes[i * W + w] >> (8 * byte)) & 0xff] << i;
      uint8_t c8[8];
      std::memcpy(c8, &codes, 8);
      const int64_t n = std::min<int64_t>(8, K - k0);
      for (int64_t e = 0; e < n; ++e) out[k0 + e] = value_of[c8[e]];
    }
}

// The format's value as cst + sum_i wt[i] p_i modulo 256 (the ISA unpack kernels' form).
void value_weights(int format, int bits, int8_t* wt, int8_t* cst) {
  for (int i = 0; i < bits; ++i) wt[i] = int8_t(uint8_t((format == int(BitFormat::kBipolar) ? 2u : 1u) << i));
  if (format == int(BitFormat::kInt)) wt[bits - 1] = int8_t(uint8_t(0u - (1u << (bits - 1))));
  *cst = format == int(BitFormat::kBipolar) ? int8_t(uint8_t(1u - (1u << bits))) : 0;
}

void value_table(int format, int bits, int8_t* t) {
  for (int c = 0; c < (1 << bits); ++c) {
    int v = c;
    if (format == int(BitFormat::kInt) && c >= (1 << (bits - 1))) v = c - (1 << bits);
    if (format == int(BitFormat::kBipolar)) v = 2 * c - ((1 << bits) - 1);
    t[c] = int8_t(v);
  }
}

// Several planes a side whose values fit int8: unpacked to int8 once (O((M + N) K)) and multiplied by
// the int8 gemm kernels (VNNI on AVX-512), faster than ba * bb plane pairs from W2A2 up (docs/bitmm.md).
Status bitmm_via_int8(const BitmmParams& p, const BitmmShape& s) {
  const int64_t M = s.M, N = s.N, K = s.K, W = s.W;
  // The int8 copies live in this thread's own buffer, kept between calls like the scratch slots (which
  // the gemm kernels use): no page faults or zeroing per call.
  thread_local std::unique_ptr<int8_t[]> keep;
  thread_local size_t keep_bytes = 0;
  std::vector<int32_t> y;
  const size_t need = size_t((M + N) * K);
  TK_RETURN_IF_ERROR(guarded([&] {
    if (keep_bytes < need) {
      keep.reset();
      keep_bytes = 0;
      keep.reset(new int8_t[need]);
      keep_bytes = need;
    }
    if (s.float_out) y.resize(size_t(M * N));
    return Status::Ok();
  }));
  int8_t* a8 = keep.get();
  int8_t* b8 = keep.get() + M * K;
  int8_t ta[256], tb[256], wa[8], wb[8], ca, cb;
  value_table(p.a_format, s.ba, ta);
  value_table(p.b_format, s.bb, tb);
  value_weights(p.a_format, s.ba, wa, &ca);
  value_weights(p.b_format, s.bb, wb, &cb);
  const bitmm_kernels::UnpackFn vec = kernels_for(active_isa(), false).unpack;
  const uint64_t* A = static_cast<const uint64_t*>(p.a.data);
  const uint64_t* B = static_cast<const uint64_t*>(p.b.data);
  TK_RETURN_IF_ERROR(parallel_for(M + N, 64, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const bool in_a = r < M;
      const uint64_t* pl = in_a ? A + r * s.ba * W : B + (r - M) * s.bb * W;
      int8_t* o = in_a ? a8 + r * K : b8 + (r - M) * K;
      const int bits = in_a ? s.ba : s.bb;
      if (vec)
        vec(pl, bits, W, K, in_a ? wa : wb, in_a ? ca : cb, o);
      else
        unpack_row(pl, bits, in_a ? p.a_format : p.b_format, W, K, in_a ? ta : tb, o);
    }
  }));
  auto view = [](void* d, DType dt, int64_t r, int64_t c) {
    TensorView t;
    const int64_t sh[2] = {r, c};
    (void)make_shape(dt, sh, 2, &t);
    t.data = d;
    return t;
  };
  GemmParams g;
  g.a = view(a8, DType::kInt8, M, K);
  g.b = view(b8, DType::kInt8, N, K);
  g.trans_b = true;
  g.c.ndim = -1;
  g.bias.ndim = -1;
  if (s.float_out) {
    g.out = view(y.data(), DType::kInt32, M, N);
  } else {
    g.out = p.out;
    if (present(p.c) && p.beta == 1.0f) {
      g.c = p.c;
      g.beta = 1.0f;
    }
  }
  GemmShape gs;
  TK_RETURN_IF_ERROR(gemm_validate(g, &gs));
  TK_RETURN_IF_ERROR(gemm_cpu(g, gs));
  if (!s.float_out) return Status::Ok();
  float* out = p.out.as<float>();
  const float* sa = present(p.a_scales) ? p.a_scales.as<float>() : nullptr;
  const float* sb = present(p.b_scales) ? p.b_scales.as<float>() : nullptr;
  return parallel_for(M, 16, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      const float am = sa ? sa[m] : 1.0f;
      for (int64_t n = 0; n < N; ++n) out[m * N + n] = s.epi(m, n, (am * (sb ? sb[n] : 1.0f)) * float(y[size_t(m * N + n)]));
    }
  });
}

}  // namespace

Status bitmm_cpu(const BitmmParams& p, const BitmmShape& s) {
  const int64_t M = s.M, N = s.N, K = s.K, W = s.W;
  if (M == 0 || N == 0) return Status::Ok();
  const Kernels& k = kernels_for(active_isa(), g_bytewise.load());
  // W2A2 with the dedicated plane-pair kernel where it beats the int8 route (bitmm_cpu_avx512.cc,
  // docs/bitmm.md): on AMD Zen 5. Not on Intel, whose vpdpbusd issues at the FMA rate (2 per cycle)
  // and makes the int8 route the faster: Emerald Rapids (family 6, model 0xCF), 2 threads, 4096^3
  // planes / int8 route 0.82x / 0.97x and 0.83x / 0.98x of int8 gemm in two `bench bitmm` runs.
  const bool w2a2 = s.ba == 2 && s.bb == 2 && k.planes_w2a2 && cpu_features().vendor != "GenuineIntel" && !g_int8.load();
  if (s.ba * s.bb >= 4 && !w2a2 && K > 0 && !g_planes.load() && active_isa() != Isa::kScalar && fits_int8(p.a_format, s.ba) &&
      fits_int8(p.b_format, s.bb)) {
    record().set("int8-gemm");
    return bitmm_via_int8(p, s);
  }
  SerialScope serial(2.0 * double(M) * double(N) * double(K) * s.ba * s.bb / 64.0 < kSerialWork);
  const uint64_t* A = static_cast<const uint64_t*>(p.a.data);
  const uint64_t* B = static_cast<const uint64_t*>(p.b.data);
  const bool a_bip = p.a_format == int(BitFormat::kBipolar), b_bip = p.b_format == int(BitFormat::kBipolar);
  const bool xor_op = a_bip && b_bip;  // bipolar x bipolar: K - 2 popcount(XOR), no correction
  int64_t wa[8], wb[8];
  plane_weights(p.a_format, s.ba, wa);
  plane_weights(p.b_format, s.bb, wb);
  int64_t sum_wa = 0, sum_wb = 0;
  for (int i = 0; i < s.ba; ++i) sum_wa += wa[i];
  for (int j = 0; j < s.bb; ++j) sum_wb += wb[j];
  // With S = sum_ij wa_i wb_j popcount(op(a_i, b_j)) (the kernels):
  //   bipolar x bipolar (XOR):  y = sum_ij w_ij (K - 2 popcount(XOR)) = K sum_wa sum_wb - 2 S
  //   bipolar a x 0/1 b (AND):  sum_k (2 p - 1) q = 2 popcount(p AND q) - popcount(q), so
  //                             y = 2 S - sum_wa * cb[n], cb[n] = sum_j wb_j popcount(b_j)   (and the mirror)
  //   0/1 x 0/1 (AND):          y = S
  // So y = f S + rowg[m] + colg[n], with f = -2 (XOR), 2 (one bipolar side) or 1.
  const int64_t f = xor_op ? -2 : (a_bip || b_bip) ? 2 : 1;
  std::vector<int64_t> rowg;
  std::vector<int32_t> colg;
  TK_RETURN_IF_ERROR(guarded([&] {
    rowg.assign(size_t(M), xor_op ? K * sum_wa * sum_wb : 0);
    colg.assign(size_t(N + kTile), 0);  // padded: the last tile reads past N
    if (a_bip && !b_bip) {
      std::vector<int64_t> cnt(static_cast<size_t>(N));
      weighted_counts(B, N, s.bb, W, wb, cnt.data());
      for (int64_t n = 0; n < N; ++n) colg[size_t(n)] = int32_t(uint32_t(-sum_wa * cnt[size_t(n)]));
    } else if (b_bip && !a_bip) {
      weighted_counts(A, M, s.ba, W, wa, rowg.data());
      for (int64_t& g : rowg) g *= -sum_wb;
    }
    return Status::Ok();
  }));

  record().set(k.name);
  const bool float_out = s.float_out;
  int32_t* out_i = float_out ? nullptr : p.out.as<int32_t>();
  float* out_f = float_out ? p.out.as<float>() : nullptr;
  const int32_t* c_i = (!float_out && present(p.c) && p.beta == 1.0f) ? p.c.as<int32_t>() : nullptr;
  const float* sa = present(p.a_scales) ? p.a_scales.as<float>() : nullptr;
  const float* sbs = present(p.b_scales) ? p.b_scales.as<float>() : nullptr;

  // Blocks: b's rows in a panel that stays in L1 across a's tiles, a's rows in a block that stays in L2.
  const int64_t brow = int64_t(s.bb) * std::max<int64_t>(W, 1) * 8, arow = int64_t(s.ba) * std::max<int64_t>(W, 1) * 8;
  int64_t NB =
      std::min<int64_t>(bitmm_configs::kMaxPanelRows, std::max<int64_t>(kTile, (bitmm_configs::kPanelBytes / brow) / kTile * kTile));
  int64_t MB = std::max<int64_t>(kTile, (bitmm_configs::kBlockBytes / arow) / kTile * kTile);
  const int nt = num_threads();
  // Enough blocks for the threads (decode: one row of a, so split b finer).
  const int64_t nbm0 = (M + MB - 1) / MB;
  if (nbm0 * ((N + NB - 1) / NB) < 4 * nt)
    NB = std::min<int64_t>(NB, std::max<int64_t>(kTile, ((N + 4 * nt * nbm0 - 1) / (4 * nt * nbm0) + kTile - 1) / kTile * kTile));
  const int64_t nbm = (M + MB - 1) / MB, nbn = (N + NB - 1) / NB, items = nbm * nbn;
  // y is computed modulo 2^32 (exact: its true value fits int32), with f a compile-time constant.
  auto run = [&](auto fc) {
    constexpr int32_t F = decltype(fc)::value;
    std::atomic<int64_t> next{0};
    return parallel_run(static_cast<int>(std::min<int64_t>(items, nt)), [&](int, int) {
      for (int64_t it = next++; it < items; it = next++) {
        const int64_t m0 = (it % nbm) * MB, m1 = std::min(M, m0 + MB);
        const int64_t n0 = (it / nbm) * NB, n1 = std::min(N, n0 + NB);
        // The panel's row pointers, whole tiles (rows past N repeat the last one).
        const uint64_t* bp[bitmm_configs::kMaxPanelRows];
        for (int64_t n = n0; n < n0 + (n1 - n0 + kTile - 1) / kTile * kTile; ++n) bp[n - n0] = B + std::min(n, N - 1) * s.bb * W;
        for (int64_t mt = m0; mt < m1; mt += kTile) {
          // The tile row's y, then written out as kTile contiguous rows (scattered 16-byte stores to
          // rows 4 * N bytes apart cost more than the kernel).
          int32_t ybuf[kTile][bitmm_configs::kMaxPanelRows];
          const uint64_t* ap[kTile];
          for (int r = 0; r < kTile; ++r) ap[r] = A + std::min(mt + r, M - 1) * s.ba * W;
          if (k.row) {
            k.row(ap, bp, (n1 - n0 + kTile - 1) / kTile, s.ba, s.bb, W, wa, wb, xor_op, &ybuf[0][0], bitmm_configs::kMaxPanelRows);
          } else {
            for (int64_t nt0 = n0; nt0 < n1; nt0 += kTile)  // S, modulo 2^32
              k.tile(ap, bp + (nt0 - n0), s.ba, s.bb, W, wa, wb, xor_op, &ybuf[0][nt0 - n0], bitmm_configs::kMaxPanelRows);
          }
          const int64_t rm = std::min<int64_t>(kTile, m1 - mt), len = n1 - n0;
          const int32_t* cg = colg.data() + n0;
          for (int r = 0; r < rm; ++r) {
            const int64_t m = mt + r;
            const uint32_t rg = uint32_t(rowg[size_t(m)]);
            const int32_t* S = ybuf[r];
            // y = F S + rowg[m] + colg[n] modulo 2^32: exact, |y| <= 2^31 - 1 (bitmm_validate)
            if (out_i) {
              int32_t* o = out_i + m * N + n0;
              if (c_i) {
                const int32_t* ci = c_i + m * N + n0;
                for (int64_t c = 0; c < len; ++c)
                  o[c] = int32_t(uint32_t(F) * uint32_t(S[c]) + rg + uint32_t(cg[c]) + uint32_t(ci[c]));  // wraps like int8 gemm
              } else {
                for (int64_t c = 0; c < len; ++c) o[c] = int32_t(uint32_t(F) * uint32_t(S[c]) + rg + uint32_t(cg[c]));
              }
            } else {
              const float am = sa ? sa[m] : 1.0f;
              for (int64_t c = 0; c < len; ++c) {
                const int64_t n = n0 + c;
                const int32_t y = int32_t(uint32_t(F) * uint32_t(S[c]) + rg + uint32_t(cg[c]));
                out_f[m * N + n] = s.epi(m, n, (am * (sbs ? sbs[n] : 1.0f)) * float(y));
              }
            }
          }
        }
      }
    });
  };
  if (f == 1) return run(std::integral_constant<int32_t, 1>());
  if (f == 2) return run(std::integral_constant<int32_t, 2>());
  return run(std::integral_constant<int32_t, -2>());
}

}  // namespace tk
