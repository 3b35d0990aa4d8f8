// AVX2 + FMA kernels (compiled with -mavx2 -mfma -mf16c; used only when CPUID has them).
#define TK_SIMD_ISA 2
#include "gemm_configs.h"
#include "gemm_kernel_impl.h"

namespace {

// int8 6x16 microkernel: sign-extended pairs of K through vpmaddwd (exact int32 sums of two
// products), the accumulator tile in 12 ymm registers.
template <int MR, int NV>
void ukr_i8_avx2(int64_t kc, const void* apv, const void* bpv, int32_t* c, int64_t ldc, int mr, int nr, const Epilogue<int32_t>& e) {
  constexpr int NR = NV * 8;
  const int64_t kc2 = (kc + 1) / 2;
  const int32_t* ap = static_cast<const int32_t*>(apv);
  const int16_t* bp = static_cast<const int16_t*>(bpv);
  __m256i acc[MR][NV];  // every loop over acc unrolled, or the array stays in memory
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_setzero_si256();
  for (int64_t k2 = 0; k2 < kc2; ++k2) {
    __m256i b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) b[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + (k2 * NR + v * 8) * 2));
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256i a = _mm256_set1_epi32(ap[k2 * MR + i]);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm256_add_epi32(acc[i][v], _mm256_madd_epi16(a, b[v]));
    }
  }
  if (mr == MR && nr == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        int32_t* cp = c + i * ldc + v * 8;
        __m256i r = acc[i][v];
        if (e.first) {
          if (e.cin) r = _mm256_add_epi32(r, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.cin + i * e.ldcin + v * 8)));
        } else {
          r = _mm256_add_epi32(r, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cp)));
        }
        if (e.last && e.bias) r = _mm256_add_epi32(r, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(e.bias + v * 8)));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(cp), r);
      }
    return;
  }
  int32_t tmp[MR * NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm256_storeu_si256(reinterpret_cast<__m256i*>(tmp + i * NR + v * 8), acc[i][v]);
  store_edge<int32_t, MR, NR>(tmp, c, ldc, mr, nr, e);
}

// B packing with the float32 transposed case (B stored [N, K], the nn.Linear layout) done as 8x8
// register transposes: contiguous loads along K instead of a strided scalar gather.
template <int NR>
void pack_b_f32_avx2(const Operand& b, int64_t k0, int64_t kc, int64_t j0, int64_t cols, void* dst) {
  static_assert(NR % 8 == 0, "NR is a multiple of the 8x8 transpose");
  if (b.dtype != DType::kFloat32 || !b.trans) return pack_b_f32<NR>(b, k0, kc, j0, cols, dst);
  const float* src = static_cast<const float*>(b.data);
  float* d = static_cast<float*>(dst);
  for (int64_t q = 0; q < cols; q += NR) {
    float* dq = d + q * kc;
    if (cols - q < NR) {  // a partial panel: the generic path pads it
      pack_b_f32<NR>(b, k0, kc, j0 + q, cols - q, dq);
      break;
    }
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      for (int h = 0; h < NR; h += 8) {
        __m256 r[8];
        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (j0 + q + h + i) * b.ld + k0 + k);
        transpose8(r);
        for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dq + (k + i) * NR + h, r[i]);
      }
    }
    for (; k < kc; ++k)
      for (int j = 0; j < NR; ++j) dq[k * NR + j] = src[(j0 + q + j) * b.ld + k0 + k];
  }
}

}  // namespace

namespace tk::gemm_kernels {

void get_kernels_avx2(IsaKernels* k) {
  constexpr BlockConfig f = kAvx2F32;
  k->f32 = {"avx2 f32 6x16",
            f.mr,
            f.nr,
            f.kc,
            f.mc,
            f.nc,
            a_panel_bytes_f32<f.mr>,
            b_panel_bytes_f32<f.nr>,
            pack_a_f32<f.mr>,
            pack_b_f32_avx2<f.nr>,
            ukr_f32<f.mr, f.nr / kW>};
  constexpr BlockConfig q = kAvx2I8;
  k->i8 = {"avx2 int8 6x16 (vpmaddwd)",
           q.mr,
           q.nr,
           q.kc,
           q.mc,
           q.nc,
           a_panel_bytes_i8pair<q.mr>,
           b_panel_bytes_i8pair<q.nr>,
           pack_a_i8pair<q.mr>,
           pack_b_i8pair<q.nr>,
           ukr_i8_avx2<q.mr, q.nr / 8>};
  k->skinny = {"avx2 skinny", kSkinnyMaxMNN, kSkinnyMaxMNT, skinny_run};
  k->skinny_i8 = {"avx2 int8 skinny", kSkinnyI8MaxM, skinny_i8_run};
}

}  // namespace tk::gemm_kernels
