// gemm on a CUDA device: picks the kernel tier and tile config from the device (tk::cuda::probe():
// compute capability, SM count, opt-in shared memory), sets split-K for grids too small to fill the
// GPU, launches on the library stream and synchronizes (the caller is a worker thread). Errors come
// back as Status; nothing here aborts.
//
// Tiers:  sm90 (wgmma + TMA, warp-specialized, persistent; compute capability 9.0, fp16/bf16)
//         sm80 (mma.sync + ldmatrix + cp.async; cc >= 8.0; fp16/bf16, int8, float32 as tf32)
//         simt (fp32 FMA / exact int32; every device, dtype, layout and alignment; the sm_75 path)
// The tensor-core tiers need 16-byte aligned operands: base pointers and the contiguous dimension
// (K for a / N for b as stored) a multiple of 16 bytes; otherwise the SIMT kernel runs.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../../cuda/check.h"
#include "../../cuda/launch.h"
#include "../../cuda/runtime.h"
#include "gemm.h"
#include "gemm_kernel_sm80.cuh"
#include "gemm_kernel_sm90.cuh"

namespace tk {
namespace {

using cugemm::DevArgs;
namespace cfg = gemm_cuda_configs;

enum Tier { kSimt = 0, kSm80 = 1, kSm90 = 2 };

// The highest tier used unless asked for more. The sm90 (wgmma + TMA) kernel has not yet run on an H100
// (it was written and compiled without one), so it is opt-in -- TENSORKERN_GEMM_KERNEL=sm90, or the GPU
// suite's forced tiers -- until test/gpu/gemm.test.ts passes on one; then this becomes kSm90.
constexpr int kDefaultTier = kSm80;

int tier_from_name(const char* s) {
  if (!s || !*s || std::strcmp(s, "auto") == 0) return kDefaultTier;
  if (std::strcmp(s, "sm90") == 0) return kSm90;
  if (std::strcmp(s, "sm80") == 0) return kSm80;
  if (std::strcmp(s, "simt") == 0) return kSimt;
  return -1;
}

std::atomic<int> g_max_tier{cuda::env_tier("TENSORKERN_GEMM_KERNEL", tier_from_name, int(kDefaultTier))};
std::atomic<int> g_force_splits{0};
cuda::LastKernel g_last_kernel;

int elem_bytes(DType t) { return t == DType::kFloat32 ? 4 : t == DType::kInt8 ? 1 : 2; }
const char* short_name(DType t) {
  switch (t) {
    case DType::kFloat16: return "f16";
    case DType::kBFloat16: return "bf16";
    case DType::kInt8: return "s8";
    default: return "tf32";
  }
}

// ---- sm80 -----------------------------------------------------------------------------------------
// The persistent wgmma + TMA kernel: one CTA per SM at most, the A and B tensor maps made per call.
Status launch_sm90(DType dt, const DevArgs& a, int sms, size_t smem_optin, cudaStream_t st) {
  using namespace cugemm::sm90;
  using cugemm::gemm_sm90;
  const int smem = gemm_cuda_configs::kSm90.smem_bytes();
  if (size_t(smem) > smem_optin) return Unsupported("sm90 gemm needs " + std::to_string(smem) + " bytes of shared memory per block");
  CUtensorMap ma, mb;
  TK_RETURN_IF_ERROR(make_map(&ma, dt, a.a, a.M, a.K, a.lda, kBM));
  TK_RETURN_IF_ERROR(make_map(&mb, dt, a.b, a.N, a.K, a.ldb, kBN));
  const int tiles = a.tiles_m * a.tiles_n;
  const dim3 grid(unsigned(tiles < sms ? tiles : sms));
  auto k = dt == DType::kBFloat16 ? gemm_sm90<__nv_bfloat16> : gemm_sm90<__half>;
  TK_CUDA_CHECK(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  k<<<grid, kThreads, smem, st>>>(ma, mb, a);
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}

template <class Cfg, class T, bool AK, bool BK>
Status launch_sm80(const DevArgs& a, dim3 grid, cudaStream_t st) {
  auto k = cugemm::gemm_sm80<Cfg, T, AK, BK>;
  TK_RETURN_IF_ERROR(cuda::set_smem(k, Cfg::kSmem));
  k<<<grid, Cfg::kThreads, Cfg::kSmem, st>>>(a);
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}

// The large config with a 32-bit / 8-bit operand stored m/n-major (scalar fragment gathers) spilled
// on sm_86/89/90a (ptxas -v: 4-24 bytes, 254 registers): those layouts take the small config only
// (make_plan), so they are not instantiated for the large one.
template <class Cfg, class T>
constexpr bool kGatherLarge = Cfg::kBM == cfg::kSm80Large.bm && sizeof(T) != 2;

template <class Cfg, class T>
Status launch_sm80_layout(const DevArgs& a, bool ta, bool tb, dim3 grid, cudaStream_t st) {
  // A k-major = a stored [M, K] (no transA); B k-major = b stored [N, K] (transB).
  if (!ta && tb) return launch_sm80<Cfg, T, true, true>(a, grid, st);
  if constexpr (kGatherLarge<Cfg, T>) {
    return Internal("gemm plan: large sm80 tiles with a gathered operand");
  } else {
    if (!ta && !tb) return launch_sm80<Cfg, T, true, false>(a, grid, st);
    if (ta && tb) return launch_sm80<Cfg, T, false, true>(a, grid, st);
    return launch_sm80<Cfg, T, false, false>(a, grid, st);
  }
}

template <class Cfg>
Status launch_sm80_dtype(DType dt, const DevArgs& a, bool ta, bool tb, dim3 grid, cudaStream_t st) {
  switch (dt) {
    case DType::kFloat16: return launch_sm80_layout<Cfg, __half>(a, ta, tb, grid, st);
    case DType::kBFloat16: return launch_sm80_layout<Cfg, __nv_bfloat16>(a, ta, tb, grid, st);
    case DType::kFloat32: return launch_sm80_layout<Cfg, float>(a, ta, tb, grid, st);
    case DType::kInt8: return launch_sm80_layout<Cfg, int8_t>(a, ta, tb, grid, st);
    default: return Unsupported("gemm dtype");
  }
}

using Sm80Large = cugemm::Sm80Cfg<cfg::kSm80Large>;
using Sm80Small = cugemm::Sm80Cfg<cfg::kSm80Small>;

// ---- simt ------------------------------------------------------------------------------------------
Status launch_simt(DType dt, const DevArgs& a, bool ta, bool tb, dim3 grid, cudaStream_t st) {
  switch (dt) {
    case DType::kFloat16: cugemm::gemm_simt<__half><<<grid, 256, 0, st>>>(a, ta, tb); break;
    case DType::kBFloat16: cugemm::gemm_simt<__nv_bfloat16><<<grid, 256, 0, st>>>(a, ta, tb); break;
    case DType::kFloat32: cugemm::gemm_simt<float><<<grid, 256, 0, st>>>(a, ta, tb); break;
    case DType::kInt8: cugemm::gemm_simt<int8_t><<<grid, 256, 0, st>>>(a, ta, tb); break;
    default: return Unsupported("gemm dtype");
  }
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}

struct Plan {
  int tier = kSimt;
  int bm = 64, bn = 64, bk = 16;  // bk: K elements per stage
  bool large = false;
  int splits = 1;
  int64_t k_chunk = 0;
  const char* name = cfg::kSimt.name;
};

bool aligned16(const TensorView& t, int64_t ld) {
  return (reinterpret_cast<uintptr_t>(t.data) % 16) == 0 && (ld * elem_bytes(t.dtype)) % 16 == 0;
}

Plan make_plan(const GemmParams& p, const GemmShape& s, const cuda::DeviceInfo& d) {
  Plan pl;
  const DType dt = p.a.dtype;
  const int cc = d.cc_major * 10 + d.cc_minor;
  const bool aligned = aligned16(p.a, s.lda) && aligned16(p.b, s.ldb);
  const bool tc_dtype = dt != DType::kFloat32 || p.allow_tf32;
  const int max_tier = g_max_tier.load();
  int tier = kSimt;
  if (cc >= 80 && aligned && tc_dtype) tier = kSm80;
  // sm_90a code runs on compute capability 9.0 only (arch-specific features do not carry forward).
  if (cc == 90 && aligned && (dt == DType::kFloat16 || dt == DType::kBFloat16) && cugemm::sm90_supports(p, s)) tier = kSm90;
  pl.tier = tier < max_tier ? tier : max_tier;

  const int sms = d.multiprocessors > 0 ? d.multiprocessors : 1;
  if (pl.tier == kSm90) {
    pl.bm = cfg::kSm90.bm, pl.bn = cfg::kSm90.bn, pl.bk = cfg::kSm90.bk, pl.name = cfg::kSm90.name;
  } else if (pl.tier == kSm80) {
    const int64_t large_tiles = ((s.M + 127) / 128) * ((s.N + 127) / 128) * s.batch;
    const bool gathers = elem_bytes(dt) != 2 && (p.trans_a || !p.trans_b);  // see kGatherLarge
    pl.large = s.M > 64 && large_tiles >= sms && !gathers && size_t(cfg::kSm80Large.smem_bytes()) <= d.smem_per_block_optin;
    const cfg::TileConfig& c = pl.large ? cfg::kSm80Large : cfg::kSm80Small;
    pl.bm = c.bm, pl.bn = c.bn, pl.bk = 64 / elem_bytes(dt), pl.name = c.name;
  }
  // Split-K when the output tiles cannot occupy the SMs (decode shapes: M <= 64, a few N tiles).
  const int64_t tiles = ((s.M + pl.bm - 1) / pl.bm) * ((s.N + pl.bn - 1) / pl.bn) * s.batch;
  const int64_t k_tiles = (s.K + pl.bk - 1) / pl.bk;
  int64_t splits = 1;
  if (pl.tier != kSm90) {
    if (g_force_splits.load() > 0) {
      splits = g_force_splits.load();
    } else if (tiles < sms && k_tiles >= 2 * cfg::kSplitKMinTiles) {
      splits = std::min<int64_t>({int64_t(cfg::kSplitKMaxSlices), (sms + tiles - 1) / tiles, k_tiles / cfg::kSplitKMinTiles});
    }
    // Bound the fp32/int32 workspace to 256 MB.
    const int64_t per_slice = s.batch * s.M * s.N * 4;
    while (splits > 1 && per_slice * splits > (int64_t(256) << 20)) --splits;
  }
  if (splits < 1) splits = 1;
  const int64_t tiles_per_slice = k_tiles > 0 ? (k_tiles + splits - 1) / splits : 1;
  pl.k_chunk = tiles_per_slice * pl.bk;
  pl.splits = k_tiles > 0 ? int((k_tiles + tiles_per_slice - 1) / tiles_per_slice) : 1;
  return pl;
}

// Frees the split-K workspace on every path.

}  // namespace

bool gemm_cuda_set_path(const char* tier, int splits) {
  const int t = tier_from_name(tier);
  if (t < 0 || splits < 0) return false;
  g_max_tier = t;
  g_force_splits = splits;
  return true;
}

std::string gemm_cuda_last_kernel() { return g_last_kernel.get(); }

Status gemm_cuda(const GemmParams& p, const GemmShape& s, int dev) {
  if (s.M == 0 || s.N == 0 || s.batch == 0) return Status::Ok();
  TK_RETURN_IF_ERROR(cuda::set_device(dev));
  const cuda::DeviceInfo& d = cuda::probe().devices[dev];
  auto stream = static_cast<cudaStream_t>(cuda::stream(dev));
  const Plan pl = make_plan(p, s, d);

  DevArgs a{};
  a.a = p.a.data, a.b = p.b.data;
  a.c = present(p.c) && p.beta != 0.0f ? p.c.data : nullptr;
  a.bias = present(p.bias) ? p.bias.data : nullptr;
  a.out = p.out.data;
  a.M = s.M, a.N = s.N, a.K = s.K, a.lda = s.lda, a.ldb = s.ldb;
  a.stride_a = s.stride_a, a.stride_b = s.stride_b, a.stride_c = s.stride_c, a.stride_out = s.stride_out;
  a.batch = int(s.batch);
  a.c_dtype = present(p.c) ? int(p.c.dtype) : 0;
  a.bias_dtype = present(p.bias) ? int(p.bias.dtype) : 0;
  a.out_dtype = int(p.out.dtype);
  a.alpha = p.alpha, a.beta = p.beta;
  a.splits = pl.splits;
  a.k_chunk = pl.k_chunk;
  a.tiles_m = int((s.M + pl.bm - 1) / pl.bm);
  a.tiles_n = int((s.N + pl.bn - 1) / pl.bn);
  if (int64_t(a.tiles_m) * a.tiles_n > INT32_MAX) return Unsupported("gemm output too large for one grid");

  cuda::Workspace ws{dev};
  if (pl.splits > 1) {
    TK_RETURN_IF_ERROR(cuda::alloc(dev, size_t(pl.splits) * s.batch * s.M * s.N * 4, &ws.ptr));
    a.ws = ws.ptr;
  }
  const dim3 grid(unsigned(a.tiles_m * a.tiles_n), unsigned(pl.splits), unsigned(s.batch < 65535 ? s.batch : 65535));
  const DType dt = p.a.dtype;
  switch (pl.tier) {
    case kSm90: TK_RETURN_IF_ERROR(launch_sm90(dt, a, d.multiprocessors, d.smem_per_block_optin, stream)); break;
    case kSm80:
      TK_RETURN_IF_ERROR(pl.large ? launch_sm80_dtype<Sm80Large>(dt, a, p.trans_a, p.trans_b, grid, stream)
                                  : launch_sm80_dtype<Sm80Small>(dt, a, p.trans_a, p.trans_b, grid, stream));
      break;
    default: TK_RETURN_IF_ERROR(launch_simt(dt, a, p.trans_a, p.trans_b, grid, stream));
  }
  if (pl.splits > 1) {
    const int64_t total = s.batch * s.M * s.N;
    const int blocks = int(std::min<int64_t>((total + 255) / 256, int64_t(d.multiprocessors) * 8));
    if (dt == DType::kInt8)
      cugemm::gemm_splitk_reduce<int32_t><<<blocks, 256, 0, stream>>>(a);
    else
      cugemm::gemm_splitk_reduce<float><<<blocks, 256, 0, stream>>>(a);
    TK_CUDA_CHECK(cudaGetLastError());
  }
  g_last_kernel.set(std::string(pl.name) + " " + (pl.tier == kSimt && dt == DType::kFloat32 ? "f32" : short_name(dt)) + " " +
                    (p.trans_a ? "T" : "N") + (p.trans_b ? "T" : "N") + " splitk=" + std::to_string(pl.splits));
  return cuda::synchronize(dev);
}

}  // namespace tk
