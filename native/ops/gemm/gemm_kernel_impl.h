// Kernel templates shared by the ISA units: packing, the float MR x NR microkernel, the skinny
// (decode) kernels, and the portable int8 kernels. Written once against core/simd.h's VF; each
// gemm_cpu_<isa>.cc instantiates them with its own vector type. Internal linkage throughout.
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "gemm_kernels.h"
#include "../../core/simd.h"

namespace {

using tk::DType;
using tk::gemm_kernels::Epilogue;
using tk::gemm_kernels::Operand;

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

// ---- packing (float) --------------------------------------------------------------------------
// A panels: [ceil(rows/MR)][kc][MR] floats; B panels: [ceil(cols/NR)][kc][NR] floats. Float16 and
// bfloat16 inputs are converted here, so one float microkernel serves all three dtypes.

// dst[k * W + r] = unit k of source row r (32-bit units: a float, 4 int8, 2 bfloat16; row r starts
// at src + r * ld_bytes, units are 4 bytes apart, read unaligned) XOR `flip`, for r < rows; rows
// r >= rows are zero. The A panels of every float / int8 / bf16 kernel with A stored [M, K], and
// the B panels with B stored [N, K], are this transpose. On x86 by 4 x 4 SSE transposes (the
// scalar loop made packing a quarter of an int8 2048^3 call and a fifth of the float NT ones).
template <int W>
inline void pack_rows32(const char* src, int64_t ld_bytes, int rows, int64_t units, uint32_t flip, uint32_t* dst) {
  auto unit = [&](int r, int64_t k) {
    uint32_t v;
    std::memcpy(&v, src + r * ld_bytes + 4 * k, 4);
    return v ^ flip;
  };
  int64_t k = 0;
#if TK_SIMD_ISA == 2 || TK_SIMD_ISA == 3
  const __m128i x = _mm_set1_epi32(static_cast<int>(flip));
  const int groups = rows / 4;
  for (; k + 4 <= units; k += 4) {
    for (int g = 0; g < groups; ++g) {
      const char* s = src + 4 * g * ld_bytes + 4 * k;
      __m128 r0 = _mm_castsi128_ps(_mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)), x));
      __m128 r1 = _mm_castsi128_ps(_mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + ld_bytes)), x));
      __m128 r2 = _mm_castsi128_ps(_mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 2 * ld_bytes)), x));
      __m128 r3 = _mm_castsi128_ps(_mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 3 * ld_bytes)), x));
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      float* d = reinterpret_cast<float*>(dst + k * W + 4 * g);
      _mm_storeu_ps(d, r0);
      _mm_storeu_ps(d + W, r1);
      _mm_storeu_ps(d + 2 * W, r2);
      _mm_storeu_ps(d + 3 * W, r3);
    }
    for (int r = 4 * groups; r < W; ++r)
      for (int t = 0; t < 4; ++t) dst[(k + t) * W + r] = r < rows ? unit(r, k + t) : 0;
  }
#endif
  for (; k < units; ++k)
    for (int r = 0; r < W; ++r) dst[k * W + r] = r < rows ? unit(r, k) : 0;
}

template <int MR, class T>
void pack_a_t(const Operand& a, int64_t i0, int64_t rows, int64_t k0, int64_t kc, float* dst) {
  const T* src = static_cast<const T*>(a.data);
  for (int64_t p = 0; p < rows; p += MR) {
    const int r = static_cast<int>(imin(MR, rows - p));
    float* d = dst + p * kc;
    if (!a.trans && std::is_same<T, float>::value) {
      pack_rows32<MR>(reinterpret_cast<const char*>(src + (i0 + p) * a.ld + k0), a.ld * 4, r, kc, 0, reinterpret_cast<uint32_t*>(d));
      continue;
    } else if (!a.trans) {
      for (int i = 0; i < r; ++i) {
        const T* s = src + (i0 + p + i) * a.ld + k0;
        for (int64_t k = 0; k < kc; ++k) d[k * MR + i] = load1(s, k);
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const T* s = src + (k0 + k) * a.ld + i0 + p;
        for (int i = 0; i < r; ++i) d[k * MR + i] = load1(s, i);
      }
    }
    if (r < MR) {
      for (int64_t k = 0; k < kc; ++k)
        for (int i = r; i < MR; ++i) d[k * MR + i] = 0.0f;
    }
  }
}

template <int NR, class T>
void pack_b_t(const Operand& b, int64_t k0, int64_t kc, int64_t j0, int64_t cols, float* dst) {
  const T* src = static_cast<const T*>(b.data);
  for (int64_t q = 0; q < cols; q += NR) {
    const int c = static_cast<int>(imin(NR, cols - q));
    float* d = dst + q * kc;
    if (!b.trans) {
      for (int64_t k = 0; k < kc; ++k) {
        const T* s = src + (k0 + k) * b.ld + j0 + q;
        float* dk = d + k * NR;
        if (c == NR) {
          for (int v = 0; v < NR; v += kW) vstore(dk + v, loadv(s + v));
        } else {
          for (int j = 0; j < c; ++j) dk[j] = load1(s, j);
          for (int j = c; j < NR; ++j) dk[j] = 0.0f;
        }
      }
    } else if (std::is_same<T, float>::value) {
      pack_rows32<NR>(reinterpret_cast<const char*>(src + (j0 + q) * b.ld + k0), b.ld * 4, c, kc, 0, reinterpret_cast<uint32_t*>(d));
    } else {
      for (int j = 0; j < c; ++j) {
        const T* s = src + (j0 + q + j) * b.ld + k0;
        for (int64_t k = 0; k < kc; ++k) d[k * NR + j] = load1(s, k);
      }
      for (int64_t k = 0; k < kc; ++k)
        for (int j = c; j < NR; ++j) d[k * NR + j] = 0.0f;
    }
  }
}

template <int MR>
void pack_a_f32(const Operand& a, int64_t i0, int64_t rows, int64_t k0, int64_t kc, void* dst) {
  float* d = static_cast<float*>(dst);
  switch (a.dtype) {
    case DType::kFloat16: return pack_a_t<MR, F16>(a, i0, rows, k0, kc, d);
    case DType::kBFloat16: return pack_a_t<MR, BF16>(a, i0, rows, k0, kc, d);
    default: return pack_a_t<MR, float>(a, i0, rows, k0, kc, d);
  }
}

// int4 B [N, K] (Operand::scales): each panel's rows dequantized, (q - z) * s in float32, 64 k at a
// time into a buffer on the stack, then transposed into the panel as float32 B is. The weights are
// read as 4 bits once per packing instead of being dequantized to a float32 copy first.
template <int NR>
void pack_b_int4(const Operand& b, int64_t k0, int64_t kc, int64_t j0, int64_t cols, float* dst) {
  constexpr int64_t kChunk = 64;
  alignas(64) float buf[NR * kChunk];
  const uint8_t* w = static_cast<const uint8_t*>(b.data);
  const int64_t gs = b.group, groups = b.ld / gs;
  for (int64_t q = 0; q < cols; q += NR) {
    const int c = static_cast<int>(imin(NR, cols - q));
    float* d = dst + q * kc;
    for (int64_t kk = 0; kk < kc; kk += kChunk) {
      const int64_t len = imin(kChunk, kc - kk);
      for (int j = 0; j < c; ++j) {
        const int64_t n = j0 + q + j;
        const uint8_t* row = w + n * (b.ld / 2);
        float* o = buf + j * kChunk;
        // By runs within one group; K, group sizes and K blocks are even, so runs start on a byte.
        for (int64_t k = k0 + kk; k < k0 + kk + len;) {
          const int64_t g = k / gs, end = imin((g + 1) * gs, k0 + kk + len);
          const float sc = b.scales[n * groups + g];
          const int32_t zp = b.zeros ? b.zeros[n * groups + g] : 0;
          const uint8_t* by = row + (k >> 1);
          float* ok = o + (k - k0 - kk);
          const int64_t pairs = (end - k) / 2;
          for (int64_t i = 0; i < pairs; ++i) {  // vectorized by the compiler
            const int32_t lo = int32_t(by[i] & 0x0F) - ((by[i] & 0x08) << 1), hi = int32_t(by[i] >> 4) - ((by[i] & 0x80) >> 3);
            ok[2 * i] = float(lo - zp) * sc;
            ok[2 * i + 1] = float(hi - zp) * sc;
          }
          k = end;
        }
      }
      pack_rows32<NR>(reinterpret_cast<const char*>(buf), kChunk * 4, c, len, 0, reinterpret_cast<uint32_t*>(d + kk * NR));
    }
  }
}

template <int NR>
void pack_b_f32(const Operand& b, int64_t k0, int64_t kc, int64_t j0, int64_t cols, void* dst) {
  float* d = static_cast<float*>(dst);
  if (b.dtype == DType::kInt4) return pack_b_int4<NR>(b, k0, kc, j0, cols, d);
  switch (b.dtype) {
    case DType::kFloat16: return pack_b_t<NR, F16>(b, k0, kc, j0, cols, d);
    case DType::kBFloat16: return pack_b_t<NR, BF16>(b, k0, kc, j0, cols, d);
    default: return pack_b_t<NR, float>(b, k0, kc, j0, cols, d);
  }
}

template <int MR>
size_t a_panel_bytes_f32(int64_t kc) {
  return size_t(kc) * MR * sizeof(float);
}
template <int NR>
size_t b_panel_bytes_f32(int64_t kc) {
  return size_t(kc) * NR * sizeof(float);
}

// ---- epilogue -----------------------------------------------------------------------------------

// Scalar epilogue for one element (edge tiles and skinny kernels).
// int32 sums wrap modulo 2^32 (as the vector kernels' do) instead of overflowing.
template <class Acc>
inline Acc epi_add(Acc a, Acc b) {
  if constexpr (std::is_integral_v<Acc>)
    return static_cast<Acc>(static_cast<std::make_unsigned_t<Acc>>(a) + static_cast<std::make_unsigned_t<Acc>>(b));
  else
    return a + b;
}
template <class Acc>
inline Acc epi_mul(Acc a, Acc b) {
  if constexpr (std::is_integral_v<Acc>)
    return static_cast<Acc>(static_cast<std::make_unsigned_t<Acc>>(a) * static_cast<std::make_unsigned_t<Acc>>(b));
  else
    return a * b;
}

template <class Acc>
inline Acc epilogue1(Acc acc, Acc* c, const Acc* cin, const Acc* bias, const Epilogue<Acc>& e) {
  Acc r = epi_mul(e.alpha, acc);
  if (e.first) {
    if (cin) r = epi_add(r, epi_mul(e.beta, *cin));
  } else {
    r = epi_add(r, *c);
  }
  if (e.last && bias) r = epi_add(r, *bias);
  return r;
}

// Edge tile: the accumulators went to tmp[MR][NR]; write the mr x nr corner.
template <class Acc, int MR, int NR>
inline void store_edge(const Acc* tmp, Acc* c, int64_t ldc, int mr, int nr, const Epilogue<Acc>& e) {
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < nr; ++j) {
      Acc* cp = c + i * ldc + j;
      *cp = epilogue1(tmp[i * NR + j], cp, e.cin ? e.cin + i * e.ldcin + j : nullptr, e.bias ? e.bias + j : nullptr, e);
    }
}

// ---- C tile prefetch ---------------------------------------------------------------------------------
// A microkernel's C tile (MR rows of ROW_BYTES, ldc_bytes apart): every line to L2 when the kernel
// starts, then into L1 over the last steps of its K loop, one line every other step, so the epilogue
// finds it in L1. at(k) is called for the steps k >= start. Each kernel writes the two K loops out:
// driving them through a helper that took the step lambda left the int8 kernel's accumulators in
// memory (2048^3: 1430 -> 566 GOP/s).
template <int MR, int ROW_BYTES>
struct CTilePrefetch {
  static constexpr int kLinesPerRow = (ROW_BYTES + 63) / 64;
  static constexpr int kLines = MR * kLinesPerRow;
  const char* c;
  int64_t ldc_bytes, start;
  CTilePrefetch(const void* c_, int64_t ldc_bytes_, int64_t steps)
      : c(static_cast<const char*>(c_)), ldc_bytes(ldc_bytes_), start(steps > 2 * kLines ? steps - 2 * kLines : 0) {
    for (int i = 0; i < MR; ++i)
      for (int l = 0; l < kLinesPerRow; ++l) prefetch_l2(c + i * ldc_bytes + l * 64);
  }
  inline void at(int64_t k) const {
    const int64_t j = k - start;
    if ((j & 1) == 0 && j / 2 < kLines) prefetch(c + (j / 2) / kLinesPerRow * ldc_bytes + (j / 2) % kLinesPerRow * 64);
  }
};

// ---- the float microkernel ----------------------------------------------------------------------

template <int MR, int NV>
void ukr_f32(int64_t kc, const void* apv, const void* bpv, float* c, int64_t ldc, int mr, int nr, const Epilogue<float>& e) {
  static_assert(MR * NV + NV + 1 <= (kW == 16 ? 32 : 16) || kW == 4, "accumulators + B + broadcast must fit the register file");
  constexpr int NR = NV * kW;
  const float* ap = static_cast<const float*>(apv);
  const float* bp = static_cast<const float*>(bpv);
  VF acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = vzero();

  // The C tile was last touched a whole K block ago, usually from DRAM or L3: to L2 now, and into
  // L1 one line every other step of the last 2 * MR * lines-per-row steps (fetched into L1 at the
  // start, the tile's lines were evicted by the A and B streams before the epilogue read them: rows
  // ldc * 4 bytes apart share a few L1 sets; the epilogue's loads then stalled, ~19% of the kernel).
  const CTilePrefetch<MR, NR * sizeof(float)> cpf(c, ldc * int64_t(sizeof(float)), kc);
  auto step = [&](int64_t k) __attribute__((always_inline)) {
    prefetch(bp + (k + 8) * NR);
    prefetch(ap + (k + 16) * MR);
    VF b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = vload(bp + k * NR + v * kW);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const VF a = vset1(ap[k * MR + i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = vfma(a, b[v], acc[i][v]);
    }
  };
  int64_t k = 0;
#pragma GCC unroll 4
  for (; k < cpf.start; ++k) step(k);
  for (; k < kc; ++k) {
    cpf.at(k);
    step(k);
  }

  if (mr == MR && nr == NR) {
    const VF va = vset1(e.alpha), vb = vset1(e.beta);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        float* cp = c + i * ldc + v * kW;
        VF r = vmul(acc[i][v], va);
        if (e.first) {
          if (e.cin) r = vfma(vload(e.cin + i * e.ldcin + v * kW), vb, r);
        } else {
          r = vadd(r, vload(cp));
        }
        if (e.last && e.bias) r = vadd(r, vload(e.bias + v * kW));
        vstore(cp, r);
      }
    }
    return;
  }
  float tmp[MR * NR];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v) vstore(tmp + i * NR + v * kW, acc[i][v]);
  store_edge<float, MR, NR>(tmp, c, ldc, mr, nr, e);
}

// ---- skinny kernels (few rows of A; B streamed once, unpacked) --------------------------------------

// B stored [K, N] (not transposed): walk K in blocks of 4 rows of B, each row read contiguously,
// accumulating MB rows of C in `scratch` (L1/L2-resident for M <= 16).
template <int MB, class T>
inline void skinny_nn_rows(int64_t K_block, const float* a, int64_t lda, const T* b, int64_t ldb, int64_t w, float* acc_rows, int64_t ldacc,
                           bool init, bool prefetch_next) {
  int64_t n = 0;
  for (; n + 2 * kW <= w; n += 2 * kW) {
    VF acc[MB][2];
#pragma GCC unroll 4
    for (int r = 0; r < MB; ++r) {
      acc[r][0] = init ? vzero() : vload(acc_rows + r * ldacc + n);
      acc[r][1] = init ? vzero() : vload(acc_rows + r * ldacc + n + kW);
    }
    for (int64_t kk = 0; kk < K_block; ++kk) {
      const T* brow = b + kk * ldb + n;
      // The same columns of the next block of rows: a couple of microseconds ahead of use, far
      // enough to hide DRAM latency; rows far apart defeat the hardware stream prefetcher.
      if (prefetch_next) prefetch(brow + K_block * ldb);
      const VF b0 = loadv(brow), b1 = loadv(brow + kW);
#pragma GCC unroll 4
      for (int r = 0; r < MB; ++r) {
        const VF av = vset1(a[r * lda + kk]);
        acc[r][0] = vfma(av, b0, acc[r][0]);
        acc[r][1] = vfma(av, b1, acc[r][1]);
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < MB; ++r) {
      vstore(acc_rows + r * ldacc + n, acc[r][0]);
      vstore(acc_rows + r * ldacc + n + kW, acc[r][1]);
    }
  }
  for (; n < w; ++n) {
    for (int r = 0; r < MB; ++r) {
      float s = init ? 0.0f : acc_rows[r * ldacc + n];
      for (int64_t kk = 0; kk < K_block; ++kk) s += a[r * lda + kk] * load1(b + kk * ldb, n);
      acc_rows[r * ldacc + n] = s;
    }
  }
}

template <class T>
void skinny_nn(int64_t M, int64_t K, const float* a, const Operand& bop, int64_t n0, int64_t n1, float* c, int64_t ldc,
               const Epilogue<float>& e, float* scratch) {
  const T* b = static_cast<const T*>(bop.data) + n0;
  const int64_t w = n1 - n0;
  constexpr int64_t KB = 4;
  if (K == 0) {
    for (int64_t i = 0; i < M * w; ++i) scratch[i] = 0.0f;
  }
  for (int64_t k0 = 0; k0 < K; k0 += KB) {
    const int64_t kb = imin(KB, K - k0);
    const T* bk = b + k0 * bop.ld;
    const bool pf = k0 + 2 * KB <= K;  // the next block is whole: prefetch it during this one
    int64_t m = 0;
    for (; m + 4 <= M; m += 4) skinny_nn_rows<4, T>(kb, a + m * K + k0, K, bk, bop.ld, w, scratch + m * w, w, k0 == 0, pf && m == 0);
    switch (M - m) {
      case 3: skinny_nn_rows<3, T>(kb, a + m * K + k0, K, bk, bop.ld, w, scratch + m * w, w, k0 == 0, pf && m == 0); break;
      case 2: skinny_nn_rows<2, T>(kb, a + m * K + k0, K, bk, bop.ld, w, scratch + m * w, w, k0 == 0, pf && m == 0); break;
      case 1: skinny_nn_rows<1, T>(kb, a + m * K + k0, K, bk, bop.ld, w, scratch + m * w, w, k0 == 0, pf && m == 0); break;
      default: break;
    }
  }
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < w; ++n) {
      float* cp = c + m * ldc + n0 + n;
      *cp = epilogue1(scratch[m * w + n], cp, e.cin ? e.cin + m * e.ldcin + n0 + n : nullptr, e.bias ? e.bias + n0 + n : nullptr, e);
    }
}

// B stored [N, K] (transposed: the nn.Linear weight layout): dot products along K, NB rows of B
// against MB rows of A at a time, each row of B streamed contiguously.
// `next` (or null): the NB rows of B the following call will read; they are prefetched at the same
// offsets into L2, a whole tile (NB rows of K) ahead, so a new set of rows never starts cold (into L1,
// the next rows evicted the current ones and A: M = 1 went from 19 to 27 GFLOP/s).
template <int MB, int NB, class T>
inline void skinny_nt_block(int64_t K, const float* a, const T* b, int64_t ldb, float* out /*[MB][NB]*/, const T* next) {
  VF acc[MB][NB];
#pragma GCC unroll 8
  for (int r = 0; r < MB; ++r)
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) acc[r][j] = vzero();
  int64_t k = 0;
  // Each row of B is its own stream; the hardware prefetcher needs a while to pick up a new one and
  // the rows are short (K elements): prefetch within the rows ~1 KB ahead, and the next tile's rows.
  constexpr int64_t kAhead = 1024 / sizeof(T);
  for (; k + kW <= K; k += kW) {
    if ((k & (64 / sizeof(T) - 1)) < kW) {
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) prefetch(b + j * ldb + k + kAhead);
      if (next) {
#pragma GCC unroll 8
        for (int j = 0; j < NB; ++j) prefetch_l2(next + j * ldb + k);
      }
    }
    // One load per row of B and per row of A for MB * NB FMAs (rows of A from L1 / L2).
    VF bv[NB];
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) bv[j] = loadv(b + j * ldb + k);
#pragma GCC unroll 8
    for (int r = 0; r < MB; ++r) {
      VF av = vload(a + r * K + k);
      in_reg(av);
#pragma GCC unroll 8
      for (int j = 0; j < NB; ++j) acc[r][j] = vfma(av, bv[j], acc[r][j]);
    }
  }
  for (int r = 0; r < MB; ++r)
    for (int j = 0; j < NB; ++j) {
      float s = vhsum(acc[r][j]);
      for (int64_t kk = k; kk < K; ++kk) s += a[r * K + kk] * load1(b + j * ldb, kk);
      out[r * NB + j] = s;
    }
}

template <int MB, int NB, class T>
inline void skinny_nt_tile(int64_t K, const float* a, const T* b, int64_t ldb, int64_t m, int64_t n, int nb, float* c, int64_t ldc,
                           const Epilogue<float>& e, const T* next = nullptr) {
  float dots[MB * NB];
  skinny_nt_block<MB, NB, T>(K, a + m * K, b + n * ldb, ldb, dots, next);
  for (int r = 0; r < MB; ++r)
    for (int j = 0; j < nb; ++j) {
      float* cp = c + (m + r) * ldc + n + j;
      *cp = epilogue1(dots[r * NB + j], cp, e.cin ? e.cin + (m + r) * e.ldcin + n + j : nullptr, e.bias ? e.bias + n + j : nullptr, e);
    }
}

// The skinny NT tile: kSkinnyNtRows rows of A x kSkinnyNtCols rows of B, 4 x 6 accumulators + 6 B +
// 1 A of 32 vector registers (AVX-512, NEON), 4 x 3 of AVX2's 16. M = 8, N = K = 4096, B [N, K] from
// DRAM, 2 threads (Zen 5, GFLOP/s): 2 x 4 tiles with A's loads folded into every FMA 76-96; A pinned
// in registers (in_reg) 116 (8 x 3), 121 (4 x 6), 118 (6 x 4); M = 16: 130 / 166 / 144.
constexpr int kSkinnyNtRows = 4;
constexpr int kSkinnyNtCols = kW == 8 ? 3 : 6;

// Every row of A against NB rows of B at n: tiles of R rows, then 2, 1.
template <int NB, class T>
inline void skinny_nt_rows(int64_t M, int64_t K, const float* a, const T* b, int64_t ldb, int64_t n, int nb, float* c, int64_t ldc,
                           const Epilogue<float>& e, const T* next) {
  constexpr int R = kSkinnyNtRows;
  int64_t m = 0;
  for (; m + R <= M; m += R) skinny_nt_tile<R, NB, T>(K, a, b, ldb, m, n, nb, c, ldc, e, m == 0 ? next : nullptr);
  for (; m + 2 <= M; m += 2) skinny_nt_tile<2, NB, T>(K, a, b, ldb, m, n, nb, c, ldc, e);
  if (m < M) skinny_nt_tile<1, NB, T>(K, a, b, ldb, m, n, nb, c, ldc, e);
}

template <class T>
void skinny_nt(int64_t M, int64_t K, const float* a, const Operand& bop, int64_t n0, int64_t n1, float* c, int64_t ldc,
               const Epilogue<float>& e, float*) {
  const T* b = static_cast<const T*>(bop.data);
  int64_t n = n0;
  if (M == 1) {  // one row of A: 8 rows of B in flight, 8 accumulators
    for (; n + 8 <= n1; n += 8) skinny_nt_tile<1, 8, T>(K, a, b, bop.ld, 0, n, 8, c, ldc, e, n + 16 <= n1 ? b + (n + 8) * bop.ld : nullptr);
  }
  // kSkinnyNtCols rows of B at a time, every row of A against them (in tiles of kSkinnyNtRows) while
  // they are in L1 / L2; the next rows of B prefetched into L2 during the first tile.
  constexpr int NB = kSkinnyNtCols;
  for (; n + NB <= n1; n += NB)
    skinny_nt_rows<NB, T>(M, K, a, b, bop.ld, n, NB, c, ldc, e, n + 2 * NB <= n1 ? b + (n + NB) * bop.ld : nullptr);
  for (; n < n1; ++n) skinny_nt_rows<1, T>(M, K, a, b, bop.ld, n, 1, c, ldc, e, nullptr);
}

void skinny_run(int64_t M, int64_t K, const float* a, const Operand& b, int64_t n0, int64_t n1, float* c, int64_t ldc,
                const Epilogue<float>& e, float* scratch) {
  switch (b.dtype) {
    case DType::kFloat16:
      return b.trans ? skinny_nt<F16>(M, K, a, b, n0, n1, c, ldc, e, scratch) : skinny_nn<F16>(M, K, a, b, n0, n1, c, ldc, e, scratch);
    case DType::kBFloat16:
      return b.trans ? skinny_nt<BF16>(M, K, a, b, n0, n1, c, ldc, e, scratch) : skinny_nn<BF16>(M, K, a, b, n0, n1, c, ldc, e, scratch);
    default:
      return b.trans ? skinny_nt<float>(M, K, a, b, n0, n1, c, ldc, e, scratch) : skinny_nn<float>(M, K, a, b, n0, n1, c, ldc, e, scratch);
  }
}

// ---- int8 skinny kernels (few rows of A; B streamed once, unpacked; exact int32) -------------------
// Plain loops the compiler vectorizes with each ISA unit's flags (sign extension + vpmaddwd /
// vpmulld, NEON smull): the decode case is bound by reading B, which these do once, where the
// blocked path would first pack all of B.

// B stored [N, K] (the weight layout): one dot product per (row of A, row of B); the rows of A
// reuse each row of B from L1.
inline int32_t dot_i8(const int8_t* x, const int8_t* y, int64_t K) {
  int32_t s = 0;
  for (int64_t k = 0; k < K; ++k) s += int32_t(x[k]) * int32_t(y[k]);
  return s;
}
// Four rows of A (K apart) against one row of B: the row of B is loaded once for the four.
inline void dot4_i8(const int8_t* x, int64_t K, const int8_t* y, int32_t* out) {
  int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (int64_t k = 0; k < K; ++k) {
    const int32_t yk = y[k];
    s0 += int32_t(x[k]) * yk;
    s1 += int32_t(x[K + k]) * yk;
    s2 += int32_t(x[2 * K + k]) * yk;
    s3 += int32_t(x[3 * K + k]) * yk;
  }
  out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

// B stored [K, N]: rows of C accumulated in `scratch` over K, kKbI8Cols columns at a time so the
// accumulators stay in L1.
constexpr int64_t kSkinnyI8Cols = 512;
inline void skinny_i8_nn_cols(int64_t M, int64_t K, const int8_t* a, const int8_t* b, int64_t ldb, int64_t w, int32_t* acc) {
  for (int64_t i = 0; i < M * w; ++i) acc[i] = 0;
  int64_t k = 0;
  // Four rows of B per pass over the accumulators: a quarter of the accumulator loads and stores.
  for (; k + 4 <= K; k += 4) {
    const int8_t* b0 = b + k * ldb;
    const int8_t *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
    if (k + 12 <= K)  // rows are ldb apart: the stream prefetcher does not follow them
      for (int r = 8; r < 12; ++r) prefetch(b0 + r * ldb);
    for (int64_t m = 0; m < M; ++m) {
      const int32_t a0 = a[m * K + k], a1 = a[m * K + k + 1], a2 = a[m * K + k + 2], a3 = a[m * K + k + 3];
      int32_t* accm = acc + m * w;
      for (int64_t n = 0; n < w; ++n) accm[n] += a0 * int32_t(b0[n]) + a1 * int32_t(b1[n]) + a2 * int32_t(b2[n]) + a3 * int32_t(b3[n]);
    }
  }
  for (; k < K; ++k)
    for (int64_t m = 0; m < M; ++m) {
      const int32_t av = a[m * K + k];
      for (int64_t n = 0; n < w; ++n) acc[m * w + n] += av * int32_t(b[k * ldb + n]);
    }
}

// C[0:M, n0:n1] = epilogue(A @ op(B)); A int8 [M, K] contiguous; scratch holds M * kSkinnyI8Cols int32.
void skinny_i8_run(int64_t M, int64_t K, const int8_t* a, const Operand& b, int64_t n0, int64_t n1, int32_t* c, int64_t ldc,
                   const Epilogue<int32_t>& e, int32_t* scratch) {
  const int8_t* B = static_cast<const int8_t*>(b.data);
  auto store = [&](int64_t m, int64_t n, int32_t v) {
    int32_t* cp = c + m * ldc + n;
    *cp = epilogue1(v, cp, e.cin ? e.cin + m * e.ldcin + n : nullptr, e.bias ? e.bias + n : nullptr, e);
  };
  if (b.trans) {
    for (int64_t n = n0; n < n1; ++n) {
      const int8_t* brow = B + n * b.ld;
      if (n + 1 < n1) prefetch(brow + b.ld);
      int64_t m = 0;
      for (; m + 4 <= M; m += 4) {
        int32_t d[4];
        dot4_i8(a + m * K, K, brow, d);
        for (int r = 0; r < 4; ++r) store(m + r, n, d[r]);
      }
      for (; m < M; ++m) store(m, n, dot_i8(a + m * K, brow, K));
    }
    return;
  }
  for (int64_t j0 = n0; j0 < n1; j0 += kSkinnyI8Cols) {
    const int64_t w = imin(kSkinnyI8Cols, n1 - j0);
    skinny_i8_nn_cols(M, K, a, B + j0, b.ld, w, scratch);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < w; ++n) store(m, j0 + n, scratch[m * w + n]);
  }
}

// ---- int8: pairs of K as int16 (the layout of AVX2's madd_epi16; portable kernels use it too) -----

// A panels: [ceil(rows/MR)][kc2][MR] int32, each the int16 pair (a[2k], a[2k+1]); B panels:
// [ceil(cols/NR)][kc2][NR][2] int16. kc2 = ceil(kc / 2); an odd K is padded with a zero.
inline int8_t a_at(const Operand& a, int64_t r, int64_t k) {
  const int8_t* s = static_cast<const int8_t*>(a.data);
  return a.trans ? s[k * a.ld + r] : s[r * a.ld + k];
}

inline uint32_t i16pair(int8_t lo, int8_t hi) { return uint32_t(uint16_t(int16_t(lo))) | (uint32_t(uint16_t(int16_t(hi))) << 16); }

template <int MR>
void pack_a_i8pair(const Operand& a, int64_t i0, int64_t rows, int64_t k0, int64_t kc, void* dst) {
  const int64_t kc2 = (kc + 1) / 2, full2 = kc / 2;
  const int8_t* src = static_cast<const int8_t*>(a.data);
  uint32_t* d = static_cast<uint32_t*>(dst);
  for (int64_t p = 0; p < rows; p += MR) {
    const int r = static_cast<int>(imin(MR, rows - p));
    uint32_t* dp = d + (p / MR) * kc2 * MR;
    if (!a.trans) {
      for (int i = 0; i < r; ++i) {
        const int8_t* row = src + (i0 + p + i) * a.ld + k0;
        for (int64_t k2 = 0; k2 < full2; ++k2) dp[k2 * MR + i] = i16pair(row[2 * k2], row[2 * k2 + 1]);
        if (kc2 > full2) dp[full2 * MR + i] = i16pair(row[kc - 1], 0);
      }
    } else {
      for (int64_t k2 = 0; k2 < kc2; ++k2) {
        const int8_t* r0 = src + (k0 + 2 * k2) * a.ld + i0 + p;
        const int8_t* r1 = 2 * k2 + 1 < kc ? r0 + a.ld : nullptr;
        for (int i = 0; i < r; ++i) dp[k2 * MR + i] = i16pair(r0[i], r1 ? r1[i] : 0);
      }
    }
    for (int64_t k2 = 0; k2 < kc2; ++k2)
      for (int i = r; i < MR; ++i) dp[k2 * MR + i] = 0;
  }
}

template <int NR>
void pack_b_i8pair(const Operand& b, int64_t k0, int64_t kc, int64_t j0, int64_t cols, void* dst) {
  const int64_t kc2 = (kc + 1) / 2, full2 = kc / 2;
  const int8_t* src = static_cast<const int8_t*>(b.data);
  int16_t* d = static_cast<int16_t*>(dst);
  for (int64_t q = 0; q < cols; q += NR) {
    const int c = static_cast<int>(imin(NR, cols - q));
    int16_t* dq = d + (q / NR) * kc2 * NR * 2;
    if (!b.trans) {  // B [K, N]: two rows of B interleave into the pairs
      for (int64_t k2 = 0; k2 < kc2; ++k2) {
        const int8_t* r0 = src + (k0 + 2 * k2) * b.ld + j0 + q;
        const int8_t* r1 = 2 * k2 + 1 < kc ? r0 + b.ld : nullptr;
        int16_t* out = dq + k2 * NR * 2;
        for (int j = 0; j < c; ++j) {
          out[2 * j] = r0[j];
          out[2 * j + 1] = r1 ? r1[j] : 0;
        }
        for (int j = c; j < NR; ++j) out[2 * j] = out[2 * j + 1] = 0;
      }
    } else {  // B [N, K]: each row of B is one column of op(B), contiguous pairs already
      for (int j = 0; j < c; ++j) {
        const int8_t* row = src + (j0 + q + j) * b.ld + k0;
        for (int64_t k2 = 0; k2 < full2; ++k2) {
          dq[(k2 * NR + j) * 2] = row[2 * k2];
          dq[(k2 * NR + j) * 2 + 1] = row[2 * k2 + 1];
        }
        if (kc2 > full2) {
          dq[(full2 * NR + j) * 2] = row[kc - 1];
          dq[(full2 * NR + j) * 2 + 1] = 0;
        }
      }
      for (int64_t k2 = 0; k2 < kc2; ++k2)
        for (int j = c; j < NR; ++j) dq[(k2 * NR + j) * 2] = dq[(k2 * NR + j) * 2 + 1] = 0;
    }
  }
}

template <int MR>
size_t a_panel_bytes_i8pair(int64_t kc) {
  return size_t((kc + 1) / 2) * MR * 4;
}
template <int NR>
size_t b_panel_bytes_i8pair(int64_t kc) {
  return size_t((kc + 1) / 2) * NR * 4;
}

// Portable int8 microkernel over the pair layout (exact: |a*b| <= 2^14, sums in int32).
template <int MR, int NR>
void ukr_i8pair_portable(int64_t kc, const void* apv, const void* bpv, int32_t* c, int64_t ldc, int mr, int nr,
                         const Epilogue<int32_t>& e) {
  const int64_t kc2 = (kc + 1) / 2;
  const uint32_t* ap = static_cast<const uint32_t*>(apv);
  const int16_t* bp = static_cast<const int16_t*>(bpv);
  int32_t acc[MR * NR] = {};
  for (int64_t k2 = 0; k2 < kc2; ++k2) {
    const int16_t* bk = bp + k2 * NR * 2;
    for (int i = 0; i < MR; ++i) {
      const uint32_t pa = ap[k2 * MR + i];
      const int32_t lo = int16_t(pa & 0xffff), hi = int16_t(pa >> 16);
      for (int j = 0; j < NR; ++j) acc[i * NR + j] += lo * bk[2 * j] + hi * bk[2 * j + 1];
    }
  }
  store_edge<int32_t, MR, NR>(acc, c, ldc, mr, nr, e);
}

}  // namespace
