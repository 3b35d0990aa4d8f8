// bitmm on a CUDA device: per plane pair, 1-bit tensor-core MMAs (mma.m16n8k256 .b1 AND + POPC,
// sm_80+) accumulate popcounts, combined with the pair's weight by a shift; a SIMT tier (__popc per
// 32-bit word, one output per thread) for sm_75 or by choice. Bipolar planes go through the same AND
// count plus row terms (bitmm_cuda_layout.h y_terms), computed by a small counting kernel. Index math
// in bitmm_cuda_layout.h, emulated on the host by the native self-test (native/tests/bitmm_cuda_checks.h).
// Opt-in until it has run on a GPU: TENSORKERN_BITMM_KERNEL=tc | simt, or debug.setPath('bitmm', 'cuda', ...).
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "../../cuda/check.h"
#include "../../cuda/launch.h"
#include "../../cuda/runtime.h"
#include "bitmm.h"
#include "bitmm_cuda_layout.h"

namespace tk {
namespace {

namespace L = cubitmm;

cuda::LastKernel g_last;

enum Path : int { kOff = 0, kTc = 1, kSimt = 2 };

int path_of(const char* name) {
  if (name == nullptr) return -1;
  if (std::strcmp(name, "auto") == 0) return kOff;
  if (std::strcmp(name, "tc") == 0) return kTc;
  if (std::strcmp(name, "simt") == 0) return kSimt;
  return -1;
}

std::atomic<int> g_path{cuda::env_tier("TENSORKERN_BITMM_KERNEL", path_of, kOff)};

struct Args {
  const uint32_t* a;
  const uint32_t* b;
  int64_t M, N, W2;
  int ba, bb, a_format, b_format;
  L::YTerms t;
  const uint32_t* ca;  // [M] row terms, or null when t.ca == 0
  const uint32_t* cb;  // [N], or null when t.cb == 0
  int32_t* out_i;      // integer form
  const int32_t* c_i;  // integer form, beta 1
  float* out_f;        // float form
  const float* sa;
  const float* sb;
  MatmulEpilogue epi;
};

__global__ void counts_kernel(const uint32_t* __restrict__ planes, int64_t rows, int bits, int format, int64_t W2,
                              uint32_t* __restrict__ cnt) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  uint32_t s = 0;
  for (int i = 0; i < bits; ++i) {
    uint32_t c = 0;
    for (int64_t w = 0; w < W2; ++w) c += __popc(planes[(r * bits + i) * W2 + w]);
    s += uint32_t(L::plane_weight(format, bits, i)) * c;
  }
  cnt[r] = s;
}

__device__ __forceinline__ void store(const Args& g, int64_t m, int64_t n, uint32_t S) {
  const int32_t y = L::bitmm_y(g.t, S, g.ca ? g.ca[m] : 0u, g.cb ? g.cb[n] : 0u);
  if (g.out_i) {
    uint32_t v = uint32_t(y);
    if (g.c_i) v += uint32_t(g.c_i[m * g.N + n]);  // wraps like int8 gemm
    g.out_i[m * g.N + n] = int32_t(v);
  } else {
    const float sc = (g.sa ? g.sa[m] : 1.0f) * (g.sb ? g.sb[n] : 1.0f);
    g.out_f[m * g.N + n] = g.epi(m, n, sc * float(y));  // reads c[m, n] before the write
  }
}

__device__ __forceinline__ void mma_b1_and(uint32_t* d, const uint32_t* a, const uint32_t* b) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile("mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
               : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  (void)d, (void)a, (void)b;
#endif
}

// One warp: 16 rows of a x 4 n-tiles of 8 rows of b, every plane pair, the whole K.
__global__ void __launch_bounds__(L::kThreads) tc_kernel(Args g) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int64_t m0 = int64_t(blockIdx.y) * L::kBM + warp * L::kWarpM, n0 = int64_t(blockIdx.x) * L::kBN;
  if (m0 >= g.M) return;  // a whole warp past the edge (no barrier in this kernel)
  // Rows past the edge read the last row; their results are dropped.
  int64_t arow[4], brow[L::kNTiles];
#pragma unroll
  for (int r = 0; r < 4; ++r) arow[r] = min(m0 + L::a_row(lane, r), g.M - 1);
#pragma unroll
  for (int nt = 0; nt < L::kNTiles; ++nt) brow[nt] = min(n0 + 8 * nt + L::b_row(lane), g.N - 1);
  uint32_t acc[L::kNTiles][4] = {};
  for (int i = 0; i < g.ba; ++i) {
    for (int j = 0; j < g.bb; ++j) {
      uint32_t c[L::kNTiles][4] = {};
      for (int64_t w0 = 0; w0 < g.W2; w0 += L::kStepWords) {
        uint32_t af[4];
#pragma unroll
        for (int r = 0; r < 4; ++r) af[r] = L::plane_word(g.a, arow[r], i, g.ba, g.W2, w0 + L::a_word(lane, r));
#pragma unroll
        for (int nt = 0; nt < L::kNTiles; ++nt) {
          uint32_t bf[2];
#pragma unroll
          for (int r = 0; r < 2; ++r) bf[r] = L::plane_word(g.b, brow[nt], j, g.bb, g.W2, w0 + L::b_word(lane, r));
          mma_b1_and(c[nt], af, bf);
        }
      }
      // The pair's weight +-2^(i+j): a shift, and a negation modulo 2^32 for a negative one.
      const int sh = i + j;
      const bool neg = (L::plane_weight(g.a_format, g.ba, i) < 0) != (L::plane_weight(g.b_format, g.bb, j) < 0);
#pragma unroll
      for (int nt = 0; nt < L::kNTiles; ++nt)
#pragma unroll
        for (int r = 0; r < 4; ++r) acc[nt][r] += neg ? 0u - (c[nt][r] << sh) : c[nt][r] << sh;
    }
  }
#pragma unroll
  for (int nt = 0; nt < L::kNTiles; ++nt)
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int64_t m = m0 + L::c_row(lane, r), n = n0 + 8 * nt + L::c_col(lane, r);
      if (m < g.M && n < g.N) store(g, m, n, acc[nt][r]);
    }
}

// One output per thread: S by __popc over 32-bit words (any compute capability).
__global__ void __launch_bounds__(L::kSimtBM* L::kSimtBN) simt_kernel(Args g) {
  const int64_t n = int64_t(blockIdx.x) * L::kSimtBN + threadIdx.x, m = int64_t(blockIdx.y) * L::kSimtBM + threadIdx.y;
  if (m >= g.M || n >= g.N) return;
  uint32_t S = 0;
  for (int i = 0; i < g.ba; ++i)
    for (int j = 0; j < g.bb; ++j) {
      const uint32_t* ap = g.a + (m * g.ba + i) * g.W2;
      const uint32_t* bp = g.b + (n * g.bb + j) * g.W2;
      uint32_t p = 0;
      for (int64_t w = 0; w < g.W2; ++w) p += __popc(ap[w] & bp[w]);
      S += uint32_t(L::plane_weight(g.a_format, g.ba, i) * L::plane_weight(g.b_format, g.bb, j)) * p;
    }
  store(g, m, n, S);
}

}  // namespace

Status bitmm_cuda(const BitmmParams& p, const BitmmShape& s, int dev) {
  const int path = g_path.load();
  if (path == kOff)
    return Unsupported(
        "bitmm's CUDA kernels have not yet run on a GPU: opt in with TENSORKERN_BITMM_KERNEL=tc (or simt), or debug.setPath('bitmm', "
        "'cuda', 'tc'), or run on host tensors");
  if (s.M == 0 || s.N == 0) return Status::Ok();
  TK_RETURN_IF_ERROR(cuda::set_device(dev));
  const cuda::DeviceInfo& d = cuda::probe().devices[size_t(dev)];
  const bool tc = path == kTc && d.cc_major * 10 + d.cc_minor >= 80;
  const int64_t gx = tc ? (s.N + L::kBN - 1) / L::kBN : (s.N + L::kSimtBN - 1) / L::kSimtBN;
  const int64_t gy = tc ? (s.M + L::kBM - 1) / L::kBM : (s.M + L::kSimtBM - 1) / L::kSimtBM;
  if (gx > 2147483647 || gy > 65535) return Unsupported("bitmm on CUDA: more rows of a than one grid holds (" + std::to_string(s.M) + ")");
  auto stream = static_cast<cudaStream_t>(cuda::stream(dev));
  Args g;
  g.a = static_cast<const uint32_t*>(p.a.data);
  g.b = static_cast<const uint32_t*>(p.b.data);
  g.M = s.M;
  g.N = s.N;
  g.W2 = 2 * s.W;
  g.ba = s.ba;
  g.bb = s.bb;
  g.a_format = p.a_format;
  g.b_format = p.b_format;
  g.t = L::y_terms(p.a_format, s.ba, p.b_format, s.bb, s.K);
  g.out_i = s.float_out ? nullptr : p.out.as<int32_t>();
  g.c_i = (!s.float_out && present(p.c) && p.beta == 1.0f) ? p.c.as<int32_t>() : nullptr;
  g.out_f = s.float_out ? p.out.as<float>() : nullptr;
  g.sa = present(p.a_scales) ? p.a_scales.as<float>() : nullptr;
  g.sb = present(p.b_scales) ? p.b_scales.as<float>() : nullptr;
  g.epi = s.epi;
  cuda::Workspace counts{dev};
  g.ca = g.cb = nullptr;
  if (g.t.ca != 0 || g.t.cb != 0) {
    TK_RETURN_IF_ERROR(cuda::alloc(dev, size_t(s.M + s.N) * sizeof(uint32_t), &counts.ptr));
    uint32_t* cnt = static_cast<uint32_t*>(counts.ptr);
    if (g.t.ca != 0) {
      counts_kernel<<<static_cast<unsigned>((s.M + 255) / 256), 256, 0, stream>>>(g.a, s.M, s.ba, p.a_format, g.W2, cnt);
      TK_CUDA_CHECK(cudaGetLastError());
      g.ca = cnt;
    }
    if (g.t.cb != 0) {
      counts_kernel<<<static_cast<unsigned>((s.N + 255) / 256), 256, 0, stream>>>(g.b, s.N, s.bb, p.b_format, g.W2, cnt + s.M);
      TK_CUDA_CHECK(cudaGetLastError());
      g.cb = cnt + s.M;
    }
  }
  const dim3 grid(static_cast<unsigned>(gx), static_cast<unsigned>(gy));
  if (tc) {
    tc_kernel<<<grid, L::kThreads, 0, stream>>>(g);
    g_last.set("tc_b1_m16n8k256_and_popc");
  } else {
    simt_kernel<<<grid, dim3(L::kSimtBN, L::kSimtBM), 0, stream>>>(g);
    g_last.set("simt_popc");
  }
  TK_CUDA_CHECK(cudaGetLastError());
  return cuda::synchronize(dev);
}

bool bitmm_cuda_set_path(const char* path) {
  const int t = path_of(path);
  if (t < 0) return false;
  g_path.store(t);
  return true;
}

std::string bitmm_cuda_last_kernel() { return g_last.get(); }

}  // namespace tk
