// Device code of the CUDA W4A4 path (w4a4_cuda.cu launches it; index math in w4a4_cuda_layout.h):
//   quantize_rows  the fused per-token activation quantizer (outlier channels split off at int8, block
//                  Hadamard, max |x| / qmax, round half even, clamp) writing the GEMM's operand layout;
//   w4a4_tc        the tensor-core GEMM: cp.async (sync copies on sm_75) into the GEMM's swizzled
//                  stages, ldmatrix, mma.m16n8k64.s4 (sm_80+) / 4 x m8n8k32.s4 (sm_75) or the int8
//                  route (two m16n8k32.s8 per step, nibbles unpacked in registers: Hopper, W4A8),
//                  int32 partials per group folded into fp32 with the group's scale, fused epilogue
//                  (s_x, outlier channels, bias);
//   w4a4_simt      exact integer fallback: any even group size, any K, every arch;
//   weight_only_tc int4Matmul on sm_80+: weights dequantized in registers to bf16, x split into three
//                  exact bf16 terms, mma.m16n8k16 with fp32 accumulation, split-K for decode;
//   weight_only    float activations x dequantized int4 weights (int4Matmul), fp32 FMA (sm_75, odd groups).
// The quantizer's float arithmetic is the contract's (w4a4.h, w4a4_quant_impl.h) operation by
// operation with explicitly rounded intrinsics (no FMA contraction), so q and s_x are the CPU's bits
// and every integer partial equals the CPU's.
// This header: the GEMM kernels' arguments and epilogue, the mma wrappers and the tile configs as
// template arguments (the data and its reasons: w4a4_configs.h); each kernel family has its own
// w4a4_kernel_<name>.cuh.
#pragma once
#include <cfloat>
#include <cstdint>

#include "../../cuda/sm80.cuh"
#include "../gemm/gemm_configs.h"
#include "../gemm/gemm_cuda_layout.h"
#include "../quant_common/matmul_epilogue.h"
#include "w4a4_cuda_layout.h"

namespace tk::cuw4a4 {

// ---- GEMM arguments --------------------------------------------------------------------------------
struct GemmArgs {
  const uint8_t* qa;  // [M, lda] activations (4- or 8-bit layout)
  int64_t lda;
  const uint8_t* w;  // [N, ldw] packed int4 weights
  int64_t ldw;       // K / 2
  const float* sx;   // [M]
  const float* ws;   // [N, G]
  int64_t G, gs;
  const int8_t* qo;  // [M, nO]
  const float* so;   // [M]
  const int8_t* wo;  // [N, nO]
  const float* wos;  // [N]
  int nO;
  MatmulEpilogue epi;  // alpha, bias, beta * c
  float* out;          // [M, N]
  int64_t M, N, K;
  int tiles_m, tiles_n;
  int kt_per;  // k stages per grid row (blockIdx.y); all of them when not split
  void* part;  // split-K partials [splits, M, N] (float, or int32 when part_ints), else null
  bool part_ints;
};

// out[m, n] from the group-scaled sum: s_x, outlier channels (exact int32), then the shared epilogue.
__device__ __forceinline__ void epilogue(const GemmArgs& p, int64_t m, int64_t n, float facc) {
  if (m >= p.M || n >= p.N) return;
  float y = __fmul_rn(p.sx[m], facc);
  if (p.nO > 0) {
    int32_t acc = 0;  // |acc| <= nO * 128 * 127
    const int8_t* qm = p.qo + m * p.nO;
    const int8_t* wn = p.wo + n * p.nO;
    for (int j = 0; j < p.nO; ++j) acc += int32_t(qm[j]) * int32_t(wn[j]);
    y = __fadd_rn(y, __fmul_rn(__fmul_rn(p.so[m], p.wos[n]), float(acc)));
  }
  p.out[m * p.N + n] = p.epi(m, n, y);
}

// ---- mma wrappers ----------------------------------------------------------------------------------
// D(16x8) += A(16x64 s4) B(64x8 s4): one instruction on sm_80+, four m8n8k32 on sm_75 (see the layout header).
__device__ __forceinline__ void mma_s4(int32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k64.row.col.s32.s4.s4.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#elif __CUDA_ARCH__ >= 750
  asm volatile("mma.sync.aligned.m8n8k32.row.col.s32.s4.s4.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[0]), "+r"(d[1])
               : "r"(a[0]), "r"(b[0]));
  asm volatile("mma.sync.aligned.m8n8k32.row.col.s32.s4.s4.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[0]), "+r"(d[1])
               : "r"(a[2]), "r"(b[1]));
  asm volatile("mma.sync.aligned.m8n8k32.row.col.s32.s4.s4.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[2]), "+r"(d[3])
               : "r"(a[1]), "r"(b[0]));
  asm volatile("mma.sync.aligned.m8n8k32.row.col.s32.s4.s4.s32 {%0,%1}, {%2}, {%3}, {%0,%1};\n"
               : "+r"(d[2]), "+r"(d[3])
               : "r"(a[3]), "r"(b[1]));
#endif
}

__device__ __forceinline__ void mma_s8(int32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
#if __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#endif
}

// 16 bytes global -> shared: cp.async on sm_80+, a plain load / store on sm_75 (then the pipeline is
// synchronous, still correct: every stage is written before the barrier that precedes its reads).
__device__ __forceinline__ void copy16(uint32_t dst, const void* src, bool in) {
#if __CUDA_ARCH__ >= 800
  sm80::cp_async16(dst, src, in);
#else
  uint4 v = in ? *static_cast<const uint4*>(src) : make_uint4(0, 0, 0, 0);
  asm volatile("st.shared.v4.u32 [%0], {%1,%2,%3,%4};\n" ::"r"(dst), "r"(v.x), "r"(v.y), "r"(v.z), "r"(v.w));
#endif
}

// A TcConfig (w4a4_configs.h) as the tensor-core kernel's template argument.
template <const TcConfig& C>
struct TcCfg {
  static constexpr int kBM = C.bm, kBN = C.bn, kWarpsM = C.warps_m, kWarpsN = C.warps_n, kStages = C.stages;
  static constexpr int kThreads = C.threads();
  template <int ABITS>
  static constexpr int smem() {
    return C.smem_bytes(ABITS);
  }
};

}  // namespace tk::cuw4a4
