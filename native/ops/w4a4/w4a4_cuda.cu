// w4a4 on a CUDA device: the fused activation quantizer writes the GEMM's operand into a workspace
// (freed on every path), then one GEMM kernel applies the whole epilogue. Kernel choice (plan()):
//   tc  s4    mma.m16n8k64.s4 (sm_80+) / m8n8k32.s4 (sm_75): 4-bit activations, groups a multiple of 64
//   tc  int8  the same tiles on mma.m16n8k32.s8 with the nibbles unpacked in registers: W4A8 (sm_80+),
//             and 4-bit activations on sm_90+ (Hopper has no INT4 MMA) or when forced
//             (TENSORKERN_W4A4_KERNEL=int8)
//   simt      exact integer fallback: any even group size or K, every arch
//   weight-only (act_bits 0): tensor cores on sm_80+ (bf16 mma over weights dequantized in registers,
//             x split into three exact bf16 terms, split-K for decode), else SIMT fp32 FMA
// Everything runs on the library stream and is synchronized before returning (the caller is a worker
// thread). Errors come back as Status; nothing here aborts.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../../cuda/check.h"
#include "../../cuda/launch.h"
#include "../../cuda/runtime.h"
#include "w4a4.h"
#include "w4a4_kernel_quant.cuh"
#include "w4a4_kernel_simt.cuh"
#include "w4a4_kernel_tc.cuh"
#include "w4a4_kernel_weight_only.cuh"

namespace tk {
namespace {

using namespace cuw4a4;
namespace cfg = w4a4_cuda_configs;

// The tile configs (w4a4_configs.h, with their reasons). When even the Small tiles leave the GPU half
// empty (decode: M <= 64, N up to ~4096), the k stages are split across the grid's y dimension
// (split-K, tc_split_plan in w4a4_cuda_layout.h: splits on group boundaries) and w4a4_split_reduce
// adds the partials in split order: deterministic, no atomics.
using Large = TcCfg<cfg::kTcLarge>;
using Small = TcCfg<cfg::kTcSmall>;

enum Path { kAuto = 0, kS4 = 1, kInt8 = 2, kSimt = 3 };

int path_from_name(const char* s) {
  if (!s || !*s || std::strcmp(s, "auto") == 0) return kAuto;
  if (std::strcmp(s, "s4") == 0) return kS4;
  if (std::strcmp(s, "int8") == 0) return kInt8;
  if (std::strcmp(s, "simt") == 0) return kSimt;
  return -1;
}

std::atomic<int> g_path{cuda::env_tier("TENSORKERN_W4A4_KERNEL", path_from_name, int(kAuto))};
cuda::LastKernel g_last_kernel;

template <class Cfg, int ABITS, bool I8>
Status launch_tc(const GemmArgs& a, cudaStream_t st);
template <int ABITS, bool I8>
Status launch_tc_cfg(bool large, const GemmArgs& a, cudaStream_t st) {
  return large ? launch_tc<Large, ABITS, I8>(a, st) : launch_tc<Small, ABITS, I8>(a, st);
}

template <class Cfg, int ABITS, bool I8>
Status launch_tc(const GemmArgs& a, cudaStream_t st) {
  auto k = w4a4_tc<Cfg, ABITS, I8>;
  constexpr int smem = Cfg::template smem<ABITS>();
  TK_RETURN_IF_ERROR(cuda::set_smem(k, smem));
  const dim3 grid(unsigned(int64_t(a.tiles_m) * a.tiles_n), unsigned(padded_k(a.K) / kStageK + a.kt_per - 1) / unsigned(a.kt_per));
  k<<<grid, Cfg::kThreads, smem, st>>>(a);
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}

struct Plan {
  int path = kSimt;  // kS4, kInt8 or kSimt
  bool large = false;
  int bm = 64, bn = 64;
  TcSplit split{1, 0, false};  // split-K (Small tiles that do not fill the GPU)
};

Plan plan(const W4A4Params& p, const W4A4Shape& s, const cuda::DeviceInfo& d) {
  Plan pl;
  const int cc = d.cc_major * 10 + d.cc_minor;
  const bool w_aligned = reinterpret_cast<uintptr_t>(p.w.data) % 16 == 0;
  const bool tc_ok = tc_group_ok(s.K, p.group_size) && w_aligned && s.M * s.N > 0;
  const int want = g_path.load();
  if (tc_ok && want != kSimt) {
    if (p.act_bits == 8) {
      if (cc >= 80) pl.path = kInt8;
    } else if (want == kInt8 || (want == kAuto && cc >= 90)) {
      // Hopper has no INT4 MMA: the nibbles are unpacked to int8 in registers there.
      if (cc >= 80) pl.path = kInt8;
    } else if (cc >= 75) {
      pl.path = kS4;
    }
  }
  if (pl.path != kSimt) {
    const int64_t large_tiles = ((s.M + Large::kBM - 1) / Large::kBM) * ((s.N + Large::kBN - 1) / Large::kBN);
    const int smem = p.act_bits == 8 ? Large::smem<8>() : Large::smem<4>();
    pl.large = s.M > 64 && large_tiles >= d.multiprocessors && size_t(smem) <= d.smem_per_block_optin;
    const int small_smem = p.act_bits == 8 ? Small::smem<8>() : Small::smem<4>();
    if (!pl.large && size_t(small_smem) > std::max<size_t>(d.smem_per_block_optin, 48 * 1024)) pl.path = kSimt;
    pl.bm = pl.large ? Large::kBM : Small::kBM;
    pl.bn = pl.large ? Large::kBN : Small::kBN;
    if (!pl.large) {
      const int64_t tiles = ((s.M + pl.bm - 1) / pl.bm) * ((s.N + pl.bn - 1) / pl.bn);
      pl.split = tc_split_plan(s.K, p.group_size, tiles, d.multiprocessors > 0 ? d.multiprocessors : 1);
    }
  }
  if (pl.split.splits <= 1) pl.split = TcSplit{1, int(padded_k(s.K) / kStageK), false};
  return pl;
}

// Weight-only plan: the tensor-core kernel on sm_80+ when groups are whole chunks (multiples of 32)
// and x / w are 16-byte aligned; 16-row tiles up to 16 rows (decode), 32-row tiles above; the k
// split that brings the grid to about 4 CTAs (16 warps) per SM when there are few column blocks.
struct WoPlan {
  int words = 0;  // 0: the SIMT kernel
  int mi = 1;
  int64_t n_blocks = 0, m_tiles = 0;
  int chunks = 0, cps = 0, splits = 1;
};

WoPlan wo_plan(const W4A4Params& p, const W4A4Shape& s, const cuda::DeviceInfo& d) {
  WoPlan w;
  const int cc = d.cc_major * 10 + d.cc_minor;
  const bool aligned = reinterpret_cast<uintptr_t>(p.w.data) % 16 == 0 && reinterpret_cast<uintptr_t>(p.x.data) % 16 == 0;
  const int v = wo_words(p.group_size);
  if (cc < 80 || v == 0 || !aligned || g_path.load() == kSimt) return w;
  w.mi = cfg::wo_row_blocks(s.M);
  w.n_blocks = (s.N + cfg::kWoNI * 8 - 1) / (cfg::kWoNI * 8);
  w.m_tiles = (s.M + 16 * w.mi - 1) / (16 * w.mi);
  const int64_t chunks = s.K / wo_chunk_k(v);
  if (w.m_tiles > 65535 || w.n_blocks > INT32_MAX || chunks > INT32_MAX) return w;
  w.words = v;
  w.chunks = int(chunks);
  const int sms = d.multiprocessors > 0 ? d.multiprocessors : 1;
  const int want = wo_splits(w.n_blocks * w.m_tiles, chunks, int64_t(sms) * cfg::kWoSplitCtasPerSm);
  w.cps = int((chunks + want - 1) / want);
  w.splits = int((chunks + w.cps - 1) / w.cps);
  return w;
}

// Frees the workspace on every path.

void set_last(const std::string& s) { g_last_kernel.set(s); }

// Blocks of a grid-stride kernel over `items` (per_block items per block), at most kGridBlocksPerSm per SM.
unsigned grid_for(int64_t items, int per_block, int sms) {
  const int64_t b = (items + per_block - 1) / per_block;
  return unsigned(std::max<int64_t>(1, std::min<int64_t>(b, int64_t(sms) * cfg::kGridBlocksPerSm)));
}
// The warp-per-output kernels (w4a4_simt, weight_only) take one item per warp.
constexpr int kWarpsPerGridBlock = cfg::kGridThreads / 32;

}  // namespace

bool w4a4_cuda_set_path(const char* path) {
  const int p = path_from_name(path);
  if (p < 0) return false;
  g_path = p;
  return true;
}

std::string w4a4_cuda_last_kernel() { return g_last_kernel.get(); }

Status w4a4_cuda(const W4A4Params& p, const W4A4Shape& s, int dev) {
  if (s.M == 0 || s.N == 0) return Status::Ok();
  if (present(p.x_scales)) {
    return Unsupported("w4a4 on CUDA devices takes float32 activations (quantized on the GPU); pre-quantized activations run on the CPU");
  }
  TK_RETURN_IF_ERROR(cuda::set_device(dev));
  const cuda::DeviceInfo& d = cuda::probe().devices[dev];
  auto stream = static_cast<cudaStream_t>(cuda::stream(dev));
  const int sms = d.multiprocessors > 0 ? d.multiprocessors : 1;
  float* out = static_cast<float*>(p.out.data);
  const MatmulEpilogue epi = s.epi;

  if (s.K == 0) {
    fill_epilogue<<<grid_for(s.M * s.N, cfg::kGridThreads, sms), cfg::kGridThreads, 0, stream>>>(out, epi, s.M, s.N);
    TK_CUDA_CHECK(cudaGetLastError());
    set_last("fill_epilogue");
    return cuda::synchronize(dev);
  }
  if (p.act_bits == 0) {
    const float* x = static_cast<const float*>(p.x.data);
    cuda::Workspace xr{dev};
    if (p.rotate_block > 0) {  // rotated weights: x rotated alike, into a workspace
      if (p.rotate_block > 256 || s.M > 65535) return Unsupported("int4Matmul on CUDA: rotation blocks above 256 or more than 65535 rows");
      TK_RETURN_IF_ERROR(cuda::alloc(dev, size_t(s.M) * size_t(s.K) * sizeof(float), &xr.ptr));
      const float rc = static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.rotate_block)));
      const int rb = int(p.rotate_block);
      rotate_rows<<<dim3(unsigned(s.K / rb), unsigned(s.M)), unsigned(std::min(rb / 2, 128)), 0, stream>>>(x, static_cast<float*>(xr.ptr),
                                                                                                           s.K, rb, rc);
      TK_CUDA_CHECK(cudaGetLastError());
      x = static_cast<const float*>(xr.ptr);
    }
    const int8_t* zp = present(p.zero_points) ? static_cast<const int8_t*>(p.zero_points.data) : nullptr;
    const WoPlan wp = wo_plan(p, s, d);
    if (wp.words == 0) {
      WeightOnlyArgs a{
          x,           static_cast<const uint8_t*>(p.w.data), static_cast<const float*>(p.scales.data), zp, epi, out, s.M, s.N, s.K, s.G,
          p.group_size};
      const int64_t items = s.N * ((s.M + cfg::kWoRows - 1) / cfg::kWoRows);
      weight_only<<<grid_for(items, kWarpsPerGridBlock, sms), cfg::kGridThreads, 0, stream>>>(a);
      TK_CUDA_CHECK(cudaGetLastError());
      set_last("weight-only simt fp32");
      return cuda::synchronize(dev);
    }
    WoTcArgs a{x,
               static_cast<const uint8_t*>(p.w.data),
               static_cast<const float*>(p.scales.data),
               zp,
               epi,
               out,
               nullptr,
               s.M,
               s.N,
               s.K,
               s.G,
               p.group_size,
               wp.chunks,
               wp.cps};
    cuda::Workspace ws{dev};
    if (wp.splits > 1) {
      TK_RETURN_IF_ERROR(cuda::alloc(dev, size_t(wp.splits) * size_t(s.M) * size_t(s.N) * sizeof(float), &ws.ptr));
      a.part = static_cast<float*>(ws.ptr);
    }
    const dim3 grid(unsigned(wp.n_blocks), unsigned(wp.splits), unsigned(wp.m_tiles));
    const int v = wp.words;
    if (wp.mi == 1) {
      if (v == 4)
        weight_only_tc<4, 1><<<grid, cfg::kWoWarps * 32, 0, stream>>>(a);
      else if (v == 2)
        weight_only_tc<2, 1><<<grid, cfg::kWoWarps * 32, 0, stream>>>(a);
      else
        weight_only_tc<1, 1><<<grid, cfg::kWoWarps * 32, 0, stream>>>(a);
    } else {
      if (v == 4)
        weight_only_tc<4, 2><<<grid, cfg::kWoWarps * 32, 0, stream>>>(a);
      else if (v == 2)
        weight_only_tc<2, 2><<<grid, cfg::kWoWarps * 32, 0, stream>>>(a);
      else
        weight_only_tc<1, 2><<<grid, cfg::kWoWarps * 32, 0, stream>>>(a);
    }
    TK_CUDA_CHECK(cudaGetLastError());
    if (wp.splits > 1) {
      weight_only_reduce<<<grid_for(s.M * s.N, cfg::kGridThreads, sms), cfg::kGridThreads, 0, stream>>>(a.part, wp.splits, epi, out, s.M,
                                                                                                        s.N);
      TK_CUDA_CHECK(cudaGetLastError());
    }
    set_last("weight-only tc bf16x3 m16n8k16 " + std::to_string(16 * wp.mi) + "x32 k" + std::to_string(32 * v) + " split" +
             std::to_string(wp.splits));
    return cuda::synchronize(dev);
  }

  // Workspace: activations in the GEMM's layout | s_x | outlier q | outlier s (16-byte aligned parts).
  const int64_t lda = act_row_bytes(s.K, p.act_bits);
  auto up16 = [](int64_t b) { return (b + 15) & ~int64_t(15); };
  const Plan pl = plan(p, s, d);
  const int64_t qa_b = up16(s.M * lda), sx_b = up16(s.M * 4), qo_b = up16(s.M * s.nO), so_b = up16(s.M * 4);
  const int64_t part_b = pl.split.splits > 1 ? up16(int64_t(pl.split.splits) * s.M * s.N * 4) : 0;
  cuda::Workspace ws{dev};
  TK_RETURN_IF_ERROR(cuda::alloc(dev, size_t(qa_b + sx_b + qo_b + so_b + part_b), &ws.ptr));
  uint8_t* base = static_cast<uint8_t*>(ws.ptr);

  QuantArgs q{};
  q.x = static_cast<const float*>(p.x.data);
  q.M = s.M, q.K = s.K;
  q.rb = p.rotate_block;
  q.rc = p.rotate_block > 0 ? static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.rotate_block))) : 1.0f;
  q.oidx = s.nO ? static_cast<const int32_t*>(p.outlier_idx.data) : nullptr;
  q.nO = int(s.nO);
  q.bits = p.act_bits;
  q.qa = base;
  q.lda = lda;
  q.sx = reinterpret_cast<float*>(base + qa_b);
  q.qo = reinterpret_cast<int8_t*>(base + qa_b + sx_b);
  q.so = reinterpret_cast<float*>(base + qa_b + sx_b + qo_b);
  if (s.M > INT32_MAX) return Unsupported("w4a4 on CUDA: more than 2^31 - 1 rows");
  quantize_rows<<<unsigned(s.M), cfg::kQuantThreads, 0, stream>>>(q);
  TK_CUDA_CHECK(cudaGetLastError());

  GemmArgs a{};
  a.qa = q.qa, a.lda = lda;
  a.w = static_cast<const uint8_t*>(p.w.data), a.ldw = s.K / 2;
  a.sx = q.sx;
  a.ws = static_cast<const float*>(p.scales.data), a.G = s.G, a.gs = p.group_size;
  a.qo = q.qo, a.so = q.so, a.nO = int(s.nO);
  a.wo = s.nO ? static_cast<const int8_t*>(p.outlier_w.data) : nullptr;
  a.wos = s.nO ? static_cast<const float*>(p.outlier_scales.data) : nullptr;
  a.epi = epi, a.out = out;
  a.M = s.M, a.N = s.N, a.K = s.K;
  a.kt_per = pl.split.kt_per;
  a.part = pl.split.splits > 1 ? base + qa_b + sx_b + qo_b + so_b : nullptr;
  a.part_ints = pl.split.ints;
  a.tiles_m = int((s.M + pl.bm - 1) / pl.bm);
  a.tiles_n = int((s.N + pl.bn - 1) / pl.bn);
  std::string name;
  if (pl.path == kSimt) {
    w4a4_simt<<<grid_for(s.M * s.N, kWarpsPerGridBlock, sms), cfg::kGridThreads, 0, stream>>>(a, p.act_bits);
    TK_CUDA_CHECK(cudaGetLastError());
    name = "simt exact int32";
  } else {
    if (int64_t(a.tiles_m) * a.tiles_n > INT32_MAX) return Unsupported("w4a4 output too large for one grid");
    if (p.act_bits == 8) {
      TK_RETURN_IF_ERROR((launch_tc_cfg<8, true>(pl.large, a, stream)));
    } else if (pl.path == kInt8) {
      TK_RETURN_IF_ERROR((launch_tc_cfg<4, true>(pl.large, a, stream)));
    } else {
      TK_RETURN_IF_ERROR((launch_tc_cfg<4, false>(pl.large, a, stream)));
    }
    if (pl.split.splits > 1) {
      w4a4_split_reduce<<<grid_for(s.M * s.N, cfg::kGridThreads, sms), cfg::kGridThreads, 0, stream>>>(a, pl.split.splits);
      TK_CUDA_CHECK(cudaGetLastError());
    }
    const int cc = d.cc_major * 10 + d.cc_minor;
    name = std::string(pl.path == kInt8 ? "tc int8 m16n8k32.s8"
                       : cc >= 80       ? "tc s4 m16n8k64"
                                        : "tc s4 m8n8k32") +
           " " + (pl.large ? cfg::kTcLarge.name : cfg::kTcSmall.name) +
           (pl.split.splits > 1 ? " splitk" + std::to_string(pl.split.splits) + (pl.split.ints ? "i" : "f") : "");
  }
  set_last(name + (p.act_bits == 8 ? " w4a8" : " w4a4"));
  return cuda::synchronize(dev);
}

}  // namespace tk
