// int8mm on a CUDA device: the outlier scan, the per-token quantizer, and the W8A8 product on int8
// tensor cores with the scales, the float32 outlier part and the shared epilogue fused into its store
// (the pipeline and index math: int8mm_cuda_layout.h, emulated on the host by the native self-test).
// Opt-in until it has run on a GPU: TENSORKERN_INT8MM_KERNEL=tc (int8mm.cc, int8mm_cuda_enabled).
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <string>

#include "../../cuda/check.h"
#include "../../cuda/launch.h"
#include "../../cuda/runtime.h"
#include "int8mm.h"
#include "int8mm_cuda_layout.h"

namespace tk {
namespace {

namespace L = cuint8mm;
cuda::LastKernel g_last;

struct TcArgs {
  const int8_t* qa;  // [M, Kp]
  const int8_t* w;   // [N, K]
  const float *sx, *sw, *x;
  const float* o;  // the outlier part [M, N], or null when no column is an outlier
  int64_t M, N, K, Kp;
  bool w_vec;  // w rows 16-byte aligned (K % 16 == 0, aligned base): 16-byte loads
  float* out;
  MatmulEpilogue epi;
};

__global__ void i8_scan(const float* __restrict__ x, int64_t total, int64_t K, float thr, int32_t* __restrict__ flag) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const uint32_t b = L::abs_bits(x[i]);
    uint32_t tb;
    memcpy(&tb, &thr, sizeof tb);
    if (b >= tb && b <= 0x7f800000u) flag[i % K] = 1;  // the same value from every writer
  }
}

__global__ void i8_compact(const int32_t* __restrict__ flag, int64_t K, int32_t* __restrict__ cols, int32_t* __restrict__ n_out) {
  int32_t n = 0;
  for (int64_t k = 0; k < K; ++k)
    if (flag[k]) cols[n++] = static_cast<int32_t>(k);
  *n_out = n;
}

__device__ uint32_t block_max(uint32_t v, uint32_t* red) {
  for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
  if ((threadIdx.x & 31) == 0) red[threadIdx.x >> 5] = v;
  __syncthreads();
  if (threadIdx.x < 32) {
    v = threadIdx.x < L::kQuantThreads / 32 ? red[threadIdx.x] : 0u;
    for (int o = 16; o > 0; o >>= 1) v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x == 0) red[0] = v;
  }
  __syncthreads();
  return red[0];
}

// One CTA per row m: s_x over the non-outlier columns (flag null: every column), q into qa (outlier
// columns and the padding 0).
__global__ void __launch_bounds__(L::kQuantThreads)
    i8_quant(const float* __restrict__ x, int64_t K, int64_t Kp, const int32_t* __restrict__ flag, int8_t* __restrict__ qa,
             float* __restrict__ sx) {
  __shared__ uint32_t red[L::kQuantThreads / 32];
  const int64_t m = blockIdx.x;
  const float* r = x + m * K;
  uint32_t mb = 0;
  for (int64_t k = threadIdx.x; k < K; k += blockDim.x)
    if (!flag || !flag[k]) mb = max(mb, L::abs_bits(r[k]));
  const float s = L::row_scale(block_max(mb, red));
  if (threadIdx.x == 0) sx[m] = s;
  for (int64_t k = threadIdx.x; k < Kp; k += blockDim.x) qa[m * Kp + k] = k < K && (!flag || !flag[k]) ? L::quant(r[k], s) : int8_t(0);
}

// The outlier part o[m, n] = sum_j x[m, cols[j]] * fround(q_w[n, cols[j]] s_w[n]), in increasing j, one
// thread per element.
__global__ void i8_outliers(const float* __restrict__ x, const int8_t* __restrict__ w, const float* __restrict__ sw,
                            const int32_t* __restrict__ cols, int32_t nO, int64_t M, int64_t N, int64_t K, float* __restrict__ o) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < M * N; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t m = i / N, n = i % N;
    float acc = 0.0f;
    for (int32_t j = 0; j < nO; ++j) acc = L::outlier_step(acc, x[m * K + cols[j]], w[n * K + cols[j]], sw[n]);
    o[i] = acc;
  }
}

#if __CUDA_ARCH__ >= 800
__device__ __forceinline__ void mma_s8(int32_t (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  asm volatile("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#endif

__global__ void __launch_bounds__(L::kThreads) i8_tc(TcArgs p) {
  __shared__ __align__(16) uint8_t sA[L::kBM * L::kRowBytes];
  __shared__ __align__(16) uint8_t sB[L::kBN * L::kRowBytes];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int64_t m0 = int64_t(blockIdx.x) * L::kBM, n0 = int64_t(blockIdx.y) * L::kBN;
  const L::RowCol ls = L::load_slot(tid);
  const int64_t am = m0 + ls.row, bn = n0 + ls.row;
  int32_t acc[L::kMI][L::kNI][4] = {};
  for (int64_t k0 = 0; k0 < p.Kp; k0 += L::kBK) {
    uint4 av = make_uint4(0, 0, 0, 0), bv = make_uint4(0, 0, 0, 0);
    if (am < p.M) av = *reinterpret_cast<const uint4*>(p.qa + am * p.Kp + k0 + ls.col);  // qa rows are whole kBK steps
    if (bn < p.N) {
      const int64_t kb = k0 + ls.col;
      if (p.w_vec && kb + 16 <= p.K) {
        bv = *reinterpret_cast<const uint4*>(p.w + bn * p.K + kb);
      } else {
        auto word = [&](int j) {  // the row's tail (or unaligned rows) byte by byte
          uint32_t v = 0;
#pragma unroll
          for (int i = 0; i < 4; ++i) {
            const int64_t k = kb + 4 * j + i;
            if (k < p.K) v |= uint32_t(static_cast<uint8_t>(p.w[bn * p.K + k])) << (8 * i);
          }
          return v;
        };
        bv = make_uint4(word(0), word(1), word(2), word(3));
      }
    }
    *reinterpret_cast<uint4*>(sA + L::smem_at(ls.row, ls.col)) = av;
    *reinterpret_cast<uint4*>(sB + L::smem_at(ls.row, ls.col)) = bv;
    __syncthreads();
#if __CUDA_ARCH__ >= 800
    const L::RowCol wo = L::warp_origin(warp);
    uint32_t bf[L::kNI][2];
#pragma unroll
    for (int ni = 0; ni < L::kNI; ++ni)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const L::RowCol f = cugemm::frag_b(lane, r);
        bf[ni][r] = *reinterpret_cast<const uint32_t*>(sB + L::smem_at(wo.col + ni * 8 + f.row, f.col));
      }
#pragma unroll
    for (int mi = 0; mi < L::kMI; ++mi) {
      uint32_t af[4];
#pragma unroll
      for (int r = 0; r < 4; ++r) {
        const L::RowCol f = cugemm::frag_a(lane, r);
        af[r] = *reinterpret_cast<const uint32_t*>(sA + L::smem_at(wo.row + mi * 16 + f.row, f.col));
      }
#pragma unroll
      for (int ni = 0; ni < L::kNI; ++ni) mma_s8(acc[mi][ni], af, bf[ni]);
    }
#else
    // sm_75: the same accumulator elements by dp4a over the tile's shared rows
#pragma unroll
    for (int mi = 0; mi < L::kMI; ++mi)
#pragma unroll
      for (int ni = 0; ni < L::kNI; ++ni)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const L::RowCol c = L::acc_at(warp, lane, mi, ni, e);
#pragma unroll
          for (int w4 = 0; w4 < L::kBK / 4; ++w4)
            acc[mi][ni][e] = __dp4a(*reinterpret_cast<const int32_t*>(sA + L::smem_at(c.row, 4 * w4)),
                                    *reinterpret_cast<const int32_t*>(sB + L::smem_at(c.col, 4 * w4)), acc[mi][ni][e]);
        }
#endif
    __syncthreads();
  }
  const MatmulEpilogue epi = p.epi;  // a register copy (a member call on the param would copy it to the stack)
#pragma unroll
  for (int mi = 0; mi < L::kMI; ++mi)
#pragma unroll
    for (int ni = 0; ni < L::kNI; ++ni)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const L::RowCol c = L::acc_at(warp, lane, mi, ni, e);
        const int64_t m = m0 + c.row, n = n0 + c.col;
        if (m >= p.M || n >= p.N) continue;
        float y = L::scaled(p.sx[m], p.sw[n], acc[mi][ni][e]);
        if (p.o) y = L::fadd(y, p.o[m * p.N + n]);
        p.out[m * p.N + n] = epi(m, n, y);
      }
}

}  // namespace

Status int8mm_cuda(const Int8MmParams& p, const Int8MmShape& s, int device) {
  if (!int8mm_cuda_enabled())
    return Unsupported(
        "int8Matmul's CUDA kernel has not yet run on a GPU: opt in with TENSORKERN_INT8MM_KERNEL=tc (or debug.setPath('int8mm', 'cuda', "
        "'tc')), or run on host tensors");
  if (s.M == 0 || s.N == 0) return Status::Ok();
  TK_RETURN_IF_ERROR(cuda::set_device(device));
  if ((s.M + L::kBM - 1) / L::kBM > 2147483647 || (s.N + L::kBN - 1) / L::kBN > 65535 || s.M > 2147483647)
    return Unsupported("int8Matmul on CUDA: N above 65535 * 64 or M above 2^31 - 1");
  auto stream = static_cast<cudaStream_t>(cuda::stream(device));
  const int64_t K = s.K, Kp = L::padded_k(K);
  const bool scan = !std::isinf(p.threshold) && K > 0;
  cuda::Workspace flag{device}, cols{device}, n_out{device}, qa{device}, sx{device};
  TK_RETURN_IF_ERROR(cuda::alloc(device, size_t(std::max<int64_t>(K, 1)) * sizeof(int32_t), &flag.ptr));
  TK_RETURN_IF_ERROR(cuda::alloc(device, size_t(std::max<int64_t>(K, 1)) * sizeof(int32_t), &cols.ptr));
  TK_RETURN_IF_ERROR(cuda::alloc(device, sizeof(int32_t), &n_out.ptr));
  TK_RETURN_IF_ERROR(cuda::alloc(device, size_t(s.M * std::max<int64_t>(Kp, L::kBK)), &qa.ptr));
  TK_RETURN_IF_ERROR(cuda::alloc(device, size_t(s.M) * sizeof(float), &sx.ptr));
  auto* fl = static_cast<int32_t*>(flag.ptr);
  auto* co = static_cast<int32_t*>(cols.ptr);
  auto* no = static_cast<int32_t*>(n_out.ptr);
  int32_t nO = 0;
  if (scan) {
    TK_RETURN_IF_ERROR(cuda::fill_zero(device, flag.ptr, size_t(K) * sizeof(int32_t)));
    const int64_t total = s.M * K;
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((total + 255) / 256, 4096));
    i8_scan<<<blocks, 256, 0, stream>>>(p.x.as<float>(), total, K, p.threshold, fl);
    TK_CUDA_CHECK(cudaGetLastError());
    i8_compact<<<1, 1, 0, stream>>>(fl, K, co, no);
    TK_CUDA_CHECK(cudaGetLastError());
    TK_RETURN_IF_ERROR(cuda::copy_to_host(device, &nO, no, sizeof nO));  // the host plans the outlier part
  }
  cuda::Workspace obuf{device};
  if (nO > 0) {
    TK_RETURN_IF_ERROR(cuda::alloc(device, size_t(s.M * s.N) * sizeof(float), &obuf.ptr));
    const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((s.M * s.N + 255) / 256, 65535));
    i8_outliers<<<blocks, 256, 0, stream>>>(p.x.as<float>(), p.w.as<int8_t>(), p.scales.as<float>(), co, nO, s.M, s.N, K,
                                            static_cast<float*>(obuf.ptr));
    TK_CUDA_CHECK(cudaGetLastError());
  }
  i8_quant<<<static_cast<unsigned>(s.M), L::kQuantThreads, 0, stream>>>(
      p.x.as<float>(), K, std::max<int64_t>(Kp, L::kBK), scan ? fl : nullptr, static_cast<int8_t*>(qa.ptr), static_cast<float*>(sx.ptr));
  TK_CUDA_CHECK(cudaGetLastError());
  TcArgs a;
  a.qa = static_cast<const int8_t*>(qa.ptr);
  a.w = p.w.as<int8_t>();
  a.sx = static_cast<const float*>(sx.ptr);
  a.sw = p.scales.as<float>();
  a.x = p.x.as<float>();
  a.o = nO > 0 ? static_cast<const float*>(obuf.ptr) : nullptr;
  a.M = s.M;
  a.N = s.N;
  a.K = K;
  a.Kp = Kp;
  a.w_vec = K % 16 == 0 && reinterpret_cast<uintptr_t>(p.w.data) % 16 == 0;
  a.out = p.out.as<float>();
  a.epi = s.epi;
  const dim3 grid(static_cast<unsigned>((s.M + L::kBM - 1) / L::kBM), static_cast<unsigned>((s.N + L::kBN - 1) / L::kBN));
  i8_tc<<<grid, L::kThreads, 0, stream>>>(a);
  TK_CUDA_CHECK(cudaGetLastError());
  g_last.set(std::string("tc_64x64x32 ") + (cuda::probe().devices[device].cc_major >= 8 ? "mma.m16n8k32.s8" : "dp4a (sm_75)"));
  return cuda::synchronize(device);
}

std::string int8mm_cuda_last_kernel() { return g_last.get(); }

}  // namespace tk
