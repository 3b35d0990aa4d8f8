// AVX-512 LUT kernel: a quad's 16 float32 partial sums fill one zmm; the 16 rows of a block index it
// at once with vpermps (each u32 lane of a plane word, shifted by 4j, brings its nibble j into the
// low 4 bits vpermps reads). Per plane and token: one shift, one vpermps, one FMA per 4 k x 16 rows.
// RB row blocks go together so that each table load serves RB lookups (the tables of a 4096-long
// token are 64 KiB: L2, not L1), and each token keeps NA independent sums so that RB * MT * NA >= 8
// FMA chains hide the FMA latency.
//
// The RB blocks are RB plane streams 16 KiB apart (2-bit, K = 4096), each read for only 16 KiB: the
// hardware prefetcher, which does not cross 4 KiB pages, kept too few lines in flight. So the kernel
// prefetches kAhead plane words (1 KiB) ahead in every stream, into the next RB blocks of its task
// near a block's end, each task's first words at its start, and the scales two groups ahead.
// Measured (2-core Zen 5, N = K = 4096, weights from DRAM, same process, interleaved): M = 1, 2-bit,
// 2 threads 0.244 -> 0.176 ms (19.4 -> 26.8 GB/s); one thread 0.31 -> 0.22-0.25 ms; 4-bit, one thread
// 0.69 -> 0.40 ms; M = 8, 2-bit, one thread 2.0 -> 1.6 ms. Alternatives measured and dropped:
// prefetching the whole next RB-block group into L2 (one thread 0.31 -> 0.27 ms), L2 (T1) hints
// (0.25 -> 0.29 ms), 2 KiB instead of 1 KiB ahead (even), per-plane vaddps sums with the plane weight
// applied at the group's end (warm, one thread 0.156 -> 0.210 ms: the adds compete with vpermps),
// vpmulhuw instead of the shifts (0.173 -> 0.212 ms), tables loaded once per quad for all planes
// (0.188 -> 0.218 ms).
#include <immintrin.h>

#include "lut_kernels.h"

namespace tk::lut_kernels {
namespace {

// Plane words (of B * 64 bytes per row block) prefetched ahead in each stream: 1 KiB.

template <int B>
constexpr int64_t kAhead = 16 / B < 2 ? 2 : 16 / B;

// Row blocks [nb, nb + RB) for tokens [m0, m0 + MT). next: the task goes on with blocks
// [nb + RB, nb + 2 RB) (prefetched near the end of these); first: the task starts here.
template <int B, int MT, int RB>
void blocks(const Args& a, int64_t nb, int64_t m0, bool next, bool first) {
  constexpr int NA = RB * MT >= 8 ? 1 : 8 / (RB * MT) < 2 ? 1 : 2;
  constexpr int64_t D = kAhead<B>;
  const int64_t bstride = a.KC * B * 16;
  const uint32_t* blk = a.planes + nb * bstride;
  const float* T[MT];
  const float* xs[MT];
  __m512 y[RB][MT], acc[RB][MT][NA];
  for (int t = 0; t < MT; ++t) {
    T[t] = a.tables + (m0 + t) * a.KQ * 16;
    xs[t] = a.xsum + (m0 + t) * a.G;
  }
  for (int r = 0; r < RB; ++r)
    for (int t = 0; t < MT; ++t) {
      y[r][t] = _mm512_setzero_ps();
      for (int i = 0; i < NA; ++i) acc[r][t][i] = _mm512_setzero_ps();
    }
  if (first)
    for (int r = 0; r < RB; ++r) {
      for (int64_t i = 0; i < D * B && i < a.KC * B; ++i) _mm_prefetch((const char*)(blk + r * bstride + i * 16), _MM_HINT_T0);
      for (int64_t g = 0; g < 2 && g < a.G; ++g) _mm_prefetch((const char*)(a.scales + ((nb + r) * a.G + g) * 16), _MM_HINT_T0);
    }
  const __m512 off = _mm512_set1_ps(plane_offset(B));
  auto whole_word = [&](int64_t kc) {
    const uint32_t* wv = blk + kc * B * 16;
    const int64_t q0 = kc * 8 * 16;
    // Within the blocks the prefetch addresses are the loads' plus a constant (kept next to them:
    // computed apart, the 16 addresses of 4-bit spilled registers and cost more than they saved).
    const bool near = kc + D < a.KC;
    if (!near && next)
#pragma GCC unroll 8
      for (int r = 0; r < RB; ++r)
#pragma GCC unroll 4
        for (int p = 0; p < B; ++p) _mm_prefetch((const char*)(wv + (RB + r) * bstride + (D - a.KC) * B * 16 + p * 16), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int p = 0; p < B; ++p) {
      const __m512 wp = _mm512_set1_ps(plane_weight(B, p));
      __m512i w[RB];
#pragma GCC unroll 8
      for (int r = 0; r < RB; ++r) {
        w[r] = _mm512_loadu_si512(wv + r * bstride + p * 16);
        if (near) _mm_prefetch((const char*)(wv + r * bstride + p * 16 + D * B * 16), _MM_HINT_T0);
      }
#pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
#pragma GCC unroll 4
        for (int t = 0; t < MT; ++t) {
          const __m512 tab = _mm512_loadu_ps(T[t] + q0 + j * 16);
#pragma GCC unroll 4
          for (int r = 0; r < RB; ++r) {
            const __m512i idx = _mm512_srli_epi32(w[r], unsigned(4 * j));
            acc[r][t][j % NA] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, tab), wp, acc[r][t][j % NA]);
          }
        }
      }
    }
  };
  auto quad = [&](int64_t kc, int j, int64_t qi) {
    const uint32_t* wv = blk + kc * B * 16;
    const __m128i sh = _mm_cvtsi32_si128(4 * j);
    for (int p = 0; p < B; ++p) {
      const __m512 wp = _mm512_set1_ps(plane_weight(B, p));
      for (int r = 0; r < RB; ++r) {
        const __m512i idx = _mm512_srl_epi32(_mm512_loadu_si512(wv + r * bstride + p * 16), sh);
        for (int t = 0; t < MT; ++t)
          acc[r][t][0] = _mm512_fmadd_ps(_mm512_permutexvar_ps(idx, _mm512_loadu_ps(T[t] + qi * 16)), wp, acc[r][t][0]);
      }
    }
  };
  auto group_end = [&](int64_t g) {
    for (int r = 0; r < RB; ++r) {
      const int64_t ahead = g + 2 < a.G ? (nb + r) * a.G + g + 2 : next ? (nb + RB + r) * a.G + g + 2 - a.G : -1;
      if (ahead >= 0) _mm_prefetch((const char*)(a.scales + ahead * 16), _MM_HINT_T0);
    }
    for (int r = 0; r < RB; ++r) {
      const __m512 s = _mm512_loadu_ps(a.scales + ((nb + r) * a.G + g) * 16);
      for (int t = 0; t < MT; ++t) {
        __m512 v = acc[r][t][0];
        for (int i = 1; i < NA; ++i) v = _mm512_add_ps(v, acc[r][t][i]);
        if (B != 1) v = _mm512_fmadd_ps(_mm512_set1_ps(xs[t][g]), off, v);
        y[r][t] = _mm512_fmadd_ps(v, s, y[r][t]);
        for (int i = 0; i < NA; ++i) acc[r][t][i] = _mm512_setzero_ps();
      }
    }
  };
  walk_quads(a, whole_word, quad, group_end);
  alignas(64) float o[16];
  for (int r = 0; r < RB; ++r)
    for (int t = 0; t < MT; ++t) {
      _mm512_store_ps(o, y[r][t]);
      store_block(a, m0 + t, nb + r, o);
    }
}

// Row blocks [r0, r1) for tokens [m0, m0 + MT): RB at a time, then the rest one by one.
template <int B, int MT, int RB>
void row_range(const Args& a, int64_t r0, int64_t r1, int64_t m0) {
  int64_t nb = r0;
  for (; nb + RB <= r1; nb += RB) blocks<B, MT, RB>(a, nb, m0, nb + 2 * RB <= r1, nb == r0);
  for (; nb < r1; ++nb) blocks<B, MT, 1>(a, nb, m0, nb + 1 < r1, nb == r0);
}

template <int B>
void rows_b(const Args& a, int64_t nb0, int64_t nb1) {
  constexpr int64_t R = 32;  // row blocks per tile: their planes stay in L2 while the tokens pass
  for (int64_t r0 = nb0; r0 < nb1; r0 += R) {
    const int64_t r1 = r0 + R < nb1 ? r0 + R : nb1;
    for (int64_t m0 = 0; m0 < a.M; m0 += 4) {
      switch (a.M - m0 < 4 ? a.M - m0 : 4) {
        case 1: row_range<B, 1, 4>(a, r0, r1, m0); break;
        case 2: row_range<B, 2, 2>(a, r0, r1, m0); break;
        case 3: row_range<B, 3, 2>(a, r0, r1, m0); break;
        default: row_range<B, 4, 2>(a, r0, r1, m0); break;
      }
    }
  }
}

void rows(const Args& a, int64_t nb0, int64_t nb1) {
  with_bits(a.bits, [&](auto b) { rows_b<decltype(b)::value>(a, nb0, nb1); });
}

}  // namespace

void get_kernels_avx512(Kernels* k) {
  k->name = "avx512 lut (vpermps, float32 tables)";
  k->rows = rows;
}

}  // namespace tk::lut_kernels
