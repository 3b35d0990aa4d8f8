// attention on a CUDA device: make_plan picks the kernel tier from the device and the problem, then
// the tier's launch function (launch_sm90 / launch_decode / launch_sm80 / launch_simt) takes its tile
// config (attention_configs.h), sets the KV split count (flash-decoding) when the row tiles cannot
// fill the SMs, and launches on the library stream; attention_cuda synchronizes (the caller is a
// worker thread). Errors come back as Status; nothing here aborts; the split workspace is freed on
// every path.
//
// Kernels (attention_kernel_sm90.cuh, attention_kernel_decode.cuh, attention_kernel_sm80.cuh):
//   sm90  wgmma + TMA FlashAttention-3-style kernel (producer warp group + two consumer warp groups),
//         compute capability 9.0 only, opt-in (TENSORKERN_ATTENTION_KERNEL=sm90 or the test hook;
//         why: README, status table). float16 / bfloat16 q / k / v
//         of one dtype, head dim 33..128, TMA-compatible strides / alignment, 128 % group == 0; any
//         other problem (and every decode shape) takes the tier below, the reason kept in the
//         recorded kernel name ("sm80_... (sm90: <reason>)").
//   decode split-KV decode kernel (flash-decoding), compute capability >= 8.0, Sq * group <= 8
//         packed rows (decode steps: Sq = 1..8 with MHA, one GQA group): fp32 FMA on 16-bit K / V
//         tiles streamed by cp.async, no 16-row mma tile; splits for about four CTAs per SM, merged
//         deterministically by attn_merge. float32 inputs: k / v converted to float16 on load
//         (q stays fp32).
//   sm80  mma.sync FlashAttention-2-style, compute capability >= 8.0, head dim <= 256 (padded to 32 /
//         64 / 128 / 256). float16 / bfloat16 inputs run in their own type; float32 inputs are
//         converted on load to float16 (tensor-core precision: 11-bit significands for q, k, v and
//         P, fp32 accumulation and softmax; values must fit float16's range, |x| < 65504). The
//         simt kernel (TENSORKERN_ATTENTION_KERNEL=simt) is the exact-fp32 alternative.
//   simt  exact fp32, every device (sm_75) and any head dims (shared memory permitting); the only
//         kernel for Dv != D (V's head dim unlike Q / K's).
// TENSORKERN_ATTENTION_KERNEL = sm90 | auto (= decode) | sm80 | simt caps the tier (tests:
// attention_cuda_set_path): sm80 keeps decode shapes on the mma.sync kernel; sm90 runs prefill shapes
// on the wgmma kernel where it applies and decode shapes on the decode kernel.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "../../cuda/check.h"
#include "../../cuda/launch.h"
#include "../../cuda/runtime.h"
#include "attention.h"
#include "attention_kernel_decode.cuh"
#include "attention_kernel_sm80.cuh"
#include "attention_kernel_sm90.cuh"

namespace tk {
namespace {

using cuattn::Args;
// Tiers, highest first: sm90 (opt-in: the wgmma kernel on compute capability 9.0 where the problem
// fits it, else as decode), decode (the split-KV decode kernel where the shape takes it, else sm80),
// sm80, simt. "auto" = "decode"; "sm80" keeps decode shapes on the mma.sync kernel.
enum Tier { kSimt = 0, kSm80 = 1, kDecode = 2, kSm90 = 3 };

int tier_from_name(const char* s) {
  if (!s || !*s || std::strcmp(s, "auto") == 0 || std::strcmp(s, "decode") == 0) return kDecode;
  if (std::strcmp(s, "sm90") == 0) return kSm90;
  if (std::strcmp(s, "sm80") == 0) return kSm80;
  if (std::strcmp(s, "simt") == 0) return kSimt;
  return -1;
}
std::atomic<int> g_max_tier{cuda::env_tier("TENSORKERN_ATTENTION_KERNEL", tier_from_name, int(kDecode))};
std::atomic<int> g_force_splits{0};
cuda::LastKernel g_last_kernel;

namespace cfg = attention_cuda_configs;

// ---- plan -------------------------------------------------------------------------------------------
// The kernel tier for a problem on a device, before any launch. The sm90 tier only when asked for
// (above the default), on 9.0, for a prefill shape it takes: its tensor maps are built here, and a
// problem it turns down keeps the reason, recorded in the sm80 kernel's name.
struct Plan {
  int tier = kSimt;
  int hd = 0;             // the padded head dim (cfg::padded_head_dim; 0: the tensor-core kernels do not take D)
  std::string sm90_why;   // why the sm90 tier was passed over ("" when it was not considered or taken)
  cuattn::Sm90Maps maps;  // the sm90 tier's tensor maps
};

Plan make_plan(const AttentionParams& p, const AttentionShape& s, const Args& a, int cc) {
  Plan pl;
  pl.hd = cfg::padded_head_dim(s.D);
  const bool decode_shape = s.Sq * s.group <= cfg::kDecodeRows && s.Sk <= INT32_MAX - 16;  // the decode kernel keeps key indices in int
  // The tensor-core kernels tile V with Q / K's head dim: Dv != D runs on the exact SIMT kernel.
  int tier = cc >= 80 && pl.hd > 0 && s.Dv == s.D ? (decode_shape ? kDecode : kSm80) : kSimt;
  if (g_max_tier.load() >= kSm90 && tier == kSm80) {
    if (cc != 90) {
      pl.sm90_why = "compute capability " + std::to_string(cc / 10) + "." + std::to_string(cc % 10) + " is not 9.0";
    } else {
      pl.sm90_why = cuattn::sm90a::unsupported_reason(a, int(p.q.dtype), int(p.k.dtype), int(p.v.dtype));
      if (pl.sm90_why.empty()) {
        const Status ms = cuattn::sm90a::make_maps(a, &pl.maps.q, &pl.maps.k, &pl.maps.v);
        if (!ms.ok()) pl.sm90_why = ms.message();
      }
    }
    if (pl.sm90_why.empty()) tier = kSm90;
  }
  if (tier > g_max_tier.load()) tier = g_max_tier.load();
  pl.tier = tier;
  return pl;
}

// Split count: enough CTAs for target_ctas when there are fewer, at least `min_tiles` key tiles per
// split, capped by cfg::kSplitMax and by the cfg::kSplitWorkspaceBytes workspace; forced by the test hook.
int64_t pick_splits(int64_t ctas, int64_t key_tiles, int64_t target_ctas, int64_t min_tiles, int64_t per_split_bytes) {
  int64_t splits = 1;
  if (g_force_splits.load() > 0) {
    splits = g_force_splits.load();
  } else if (ctas < target_ctas && key_tiles >= 2 * min_tiles) {
    splits = std::min<int64_t>({(target_ctas + ctas - 1) / ctas, key_tiles / min_tiles, int64_t(cfg::kSplitMax)});
  }
  while (splits > 1 && per_split_bytes * splits > cfg::kSplitWorkspaceBytes) --splits;
  return std::max<int64_t>(1, std::min<int64_t>(splits, std::max<int64_t>(1, key_tiles)));
}

// ---- what the tier launches share -------------------------------------------------------------------
// The device, its stream and SM count, and the KV-split workspace, which attention_cuda owns: freed
// after the final synchronize, on every path.
struct Launch {
  int dev;
  const cuda::DeviceInfo& d;
  cudaStream_t stream;
  int cc, sms;
  int64_t rows;  // B * Hq * Sq
  cuda::Workspace* ws;
};

// Workspace bytes per split: the normalized fp32 partial (D floats) and the LSE of every row.
int64_t split_bytes(const Launch& L, const AttentionShape& s) { return L.rows * (s.D + 1) * 4; }

// With a.splits > 1: the workspace of the splits' partials and LSEs.
Status alloc_splits(const Launch& L, const AttentionShape& s, Args& a) {
  if (a.splits > 1) {
    TK_RETURN_IF_ERROR(cuda::alloc(L.dev, size_t(split_bytes(L, s)) * a.splits, &L.ws->ptr));
    a.ws_o = static_cast<float*>(L.ws->ptr);
    a.ws_lse = a.ws_o + int64_t(a.splits) * L.rows * s.D;
  }
  return Status::Ok();
}

// With a.splits > 1: attn_merge combines the splits in split order.
Status launch_merge(const Launch& L, const AttentionShape& s, const Args& a) {
  if (a.splits > 1) {
    const int64_t total = L.rows * s.D;
    const int blocks = int(std::max<int64_t>(
        1, std::min<int64_t>((total + cfg::kMergeThreads - 1) / cfg::kMergeThreads, int64_t(L.sms) * cfg::kMergeBlocksPerSm)));
    cuattn::attn_merge<<<blocks, cfg::kMergeThreads, 0, L.stream>>>(a);
    TK_CUDA_CHECK(cudaGetLastError());
  }
  return Status::Ok();
}

const char* in_name(const AttentionParams& p) {
  return p.q.dtype == DType::kBFloat16 ? "bf16" : p.q.dtype == DType::kFloat16 ? "f16" : "f16(from f32)";
}

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) % 16) == 0; }

// ---- sm90 -------------------------------------------------------------------------------------------
Status launch_sm90(const Launch& L, const Plan& pl, const AttentionParams& p, const AttentionShape& s, Args& a, std::string* name) {
  const bool bf16 = p.q.dtype == DType::kBFloat16;
  const cfg::Sm90Config c = cfg::sm90_config(pl.hd);
  a.vec = true;
  a.row_tiles = (s.Sq * s.group + c.bm - 1) / c.bm;
  const int64_t ctas = a.row_tiles * s.B * s.Hkv;
  if (ctas > INT32_MAX) return Unsupported("attention: too many row tiles for one grid");
  const int64_t key_tiles = (s.Sk + c.bn - 1) / c.bn;
  // As sm80: KV splits (flash-decoding) when the row tiles cannot fill the SMs (one CTA per SM).
  const int64_t target = ctas < L.sms ? int64_t(cfg::kSm90SplitCtasPerSm) * L.sms : 0;
  a.splits = int(pick_splits(ctas, key_tiles, target, cfg::kSplitMinKeyTiles, split_bytes(L, s)));
  TK_RETURN_IF_ERROR(alloc_splits(L, s, a));
  const dim3 grid(unsigned(ctas), unsigned(a.splits), 1);
  TK_RETURN_IF_ERROR(cuattn::launch_sm90(a, pl.maps, pl.hd, grid, L.d.smem_per_block_optin, L.stream));
  TK_RETURN_IF_ERROR(launch_merge(L, s, a));
  *name = "sm90_hd" + std::to_string(pl.hd) + "_" + std::to_string(c.bm) + "x" + std::to_string(c.bn) + " " + (bf16 ? "bf16" : "f16") +
          " tma wgmma splits=" + std::to_string(a.splits);
  return Status::Ok();
}

// ---- decode -----------------------------------------------------------------------------------------
template <int HD, class T>
Status launch_decode_kernel(const Args& a, dim3 grid, cudaStream_t st) {
  auto k = cuattn::attn_decode<HD, T>;
  constexpr int smem = cuattn::DecCfg<HD>::kSmem;
  TK_RETURN_IF_ERROR(cuda::set_smem(k, smem));
  k<<<grid, cuattn::DecCfg<HD>::kThreads, smem, st>>>(a);
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}
template <int HD>
Status launch_decode_dtype(bool bf16, const Args& a, dim3 grid, cudaStream_t st) {
  return bf16 ? launch_decode_kernel<HD, __nv_bfloat16>(a, grid, st) : launch_decode_kernel<HD, __half>(a, grid, st);
}

Status launch_decode(const Launch& L, const Plan& pl, const AttentionParams& p, const AttentionShape& s, Args& a, std::string* name) {
  const bool bf16 = p.q.dtype == DType::kBFloat16;
  const cfg::DecodeConfig c = cfg::decode_config(pl.hd);
  if (size_t(c.smem_bytes()) > L.d.smem_per_block_optin)
    return Unsupported("attention: the decode kernel needs " + std::to_string(c.smem_bytes()) + " bytes of shared memory per block");
  a.vec = p.q.dtype != DType::kFloat32 && s.D % 8 == 0 && aligned16(a.k) && aligned16(a.v);
  const int64_t ctas = cuattn::decode_row_chunks(s.Sq * s.group) * s.B * s.Hkv;
  if (ctas > INT32_MAX) return Unsupported("attention: too many (batch, head) pairs for one grid");
  const int64_t key_tiles = (s.Sk + c.keys() - 1) / c.keys();
  // Memory bound: about four CTAs per SM, at least two key tiles per split.
  const int64_t target = int64_t(cfg::kDecodeSplitCtasPerSm) * L.sms;
  a.splits = int(pick_splits(ctas, key_tiles, target, cfg::kSplitMinKeyTiles, split_bytes(L, s)));
  TK_RETURN_IF_ERROR(alloc_splits(L, s, a));
  const dim3 grid(unsigned(ctas), unsigned(a.splits), 1);
  switch (pl.hd) {
    case 32: TK_RETURN_IF_ERROR(launch_decode_dtype<32>(bf16, a, grid, L.stream)); break;
    case 64: TK_RETURN_IF_ERROR(launch_decode_dtype<64>(bf16, a, grid, L.stream)); break;
    case 128: TK_RETURN_IF_ERROR(launch_decode_dtype<128>(bf16, a, grid, L.stream)); break;
    default: TK_RETURN_IF_ERROR(launch_decode_dtype<256>(bf16, a, grid, L.stream)); break;
  }
  TK_RETURN_IF_ERROR(launch_merge(L, s, a));
  *name = "decode_hd" + std::to_string(pl.hd) + "_" + std::to_string(c.keys()) + "keys " + in_name(p) + (a.vec ? " cp.async" : " convert") +
          " splits=" + std::to_string(a.splits);
  return Status::Ok();
}

// ---- sm80 -------------------------------------------------------------------------------------------
template <class Cfg, class T>
Status launch_sm80_kernel(const Args& a, dim3 grid, cudaStream_t st) {
  auto k = cuattn::attn_fwd_sm80<Cfg, T>;
  TK_RETURN_IF_ERROR(cuda::set_smem(k, Cfg::kSmem));
  k<<<grid, Cfg::kThreads, Cfg::kSmem, st>>>(a);
  TK_CUDA_CHECK(cudaGetLastError());
  return Status::Ok();
}
template <class Cfg>
Status launch_sm80_dtype(bool bf16, const Args& a, dim3 grid, cudaStream_t st) {
  return bf16 ? launch_sm80_kernel<Cfg, __nv_bfloat16>(a, grid, st) : launch_sm80_kernel<Cfg, __half>(a, grid, st);
}

using Cfg32 = cuattn::Sm80Cfg<cfg::kCfg32>;
using Cfg64 = cuattn::Sm80Cfg<cfg::kCfg64>;
using Cfg128 = cuattn::Sm80Cfg<cfg::kCfg128>;
using Cfg256 = cuattn::Sm80Cfg<cfg::kCfg256>;

Status launch_sm80(const Launch& L, const Plan& pl, const AttentionParams& p, const AttentionShape& s, Args& a, std::string* name) {
  const bool bf16 = p.q.dtype == DType::kBFloat16;
  const cfg::TileConfig& c = cfg::sm80_config(pl.hd);
  if (size_t(c.smem_bytes()) > L.d.smem_per_block_optin)
    return Unsupported("attention: the sm80 kernel needs " + std::to_string(c.smem_bytes()) + " bytes of shared memory per block");
  a.vec = p.q.dtype != DType::kFloat32 && s.D % 8 == 0 && aligned16(a.q) && aligned16(a.k) && aligned16(a.v);
  a.row_tiles = (s.Sq * s.group + c.bm - 1) / c.bm;
  const int64_t ctas = a.row_tiles * s.B * s.Hkv;
  if (ctas > INT32_MAX) return Unsupported("attention: too many row tiles for one grid");
  const int64_t key_tiles = (s.Sk + c.bn - 1) / c.bn;
  // Flash-decoding when the row tiles cannot fill the SMs (ctas < sms): about two CTAs per SM,
  // at least two key tiles per split.
  const int64_t target = ctas < L.sms ? int64_t(cfg::kSm80SplitCtasPerSm) * L.sms : 0;
  a.splits = int(pick_splits(ctas, key_tiles, target, cfg::kSplitMinKeyTiles, split_bytes(L, s)));
  TK_RETURN_IF_ERROR(alloc_splits(L, s, a));
  const dim3 grid(unsigned(ctas), unsigned(a.splits), 1);
  switch (pl.hd) {
    case 32: TK_RETURN_IF_ERROR(launch_sm80_dtype<Cfg32>(bf16, a, grid, L.stream)); break;
    case 64: TK_RETURN_IF_ERROR(launch_sm80_dtype<Cfg64>(bf16, a, grid, L.stream)); break;
    case 128: TK_RETURN_IF_ERROR(launch_sm80_dtype<Cfg128>(bf16, a, grid, L.stream)); break;
    default: TK_RETURN_IF_ERROR(launch_sm80_dtype<Cfg256>(bf16, a, grid, L.stream)); break;
  }
  TK_RETURN_IF_ERROR(launch_merge(L, s, a));
  *name = "sm80_hd" + std::to_string(pl.hd) + "_" + std::to_string(c.bm) + "x" + std::to_string(c.bn) + " " + in_name(p) +
          (a.vec ? " cp.async" : " convert") + " splits=" + std::to_string(a.splits) +
          (pl.sm90_why.empty() ? "" : " (sm90: " + pl.sm90_why + ")");
  return Status::Ok();
}

// ---- simt -------------------------------------------------------------------------------------------
Status launch_simt(const Launch& L, const AttentionShape& s, const Args& a, std::string* name) {
  const int64_t smem = int64_t(cfg::kSimtWarps) * (s.D + s.Dv) * 4;
  if (size_t(smem) > L.d.smem_per_block_optin) {
    return Unsupported("attention: head dims D = " + std::to_string(s.D) + ", Dv = " + std::to_string(s.Dv) +
                       " are too large for the CUDA kernels");
  }
  TK_RETURN_IF_ERROR(cuda::set_smem(cuattn::attn_simt, int(smem)));
  const int64_t blocks = (L.rows + cfg::kSimtWarps - 1) / cfg::kSimtWarps;
  if (blocks > INT32_MAX) return Unsupported("attention: too many rows for one grid");
  cuattn::attn_simt<<<unsigned(blocks), cfg::kSimtWarps * 32, size_t(smem), L.stream>>>(a);
  TK_CUDA_CHECK(cudaGetLastError());
  *name = s.Dv != s.D && L.cc >= 80 ? "simt f32 (Dv != D: the tensor-core kernels take Dv == D)" : "simt f32";
  return Status::Ok();
}

Args make_args(const AttentionParams& p, const AttentionShape& s) {
  Args a{};
  a.q = p.q.data, a.k = p.k.data, a.v = p.v.data;
  a.in_dtype = int(p.q.dtype);
  a.mask = present(p.mask) ? p.mask.data : nullptr;
  a.mask_dtype = present(p.mask) ? int(p.mask.dtype) : 0;
  a.mask_bool = s.mask_bool;
  a.mb = s.mb, a.mh = s.mh, a.mi = s.mi, a.mj = s.mj;
  a.kv_lengths = present(p.kv_lengths) ? static_cast<const int32_t*>(p.kv_lengths.data) : nullptr;
  a.out = p.out.data;
  a.out_dtype = int(p.out.dtype);
  a.lse = present(p.lse) ? static_cast<float*>(p.lse.data) : nullptr;
  a.B = s.B, a.Hq = s.Hq, a.Hkv = s.Hkv, a.Sq = s.Sq, a.Sk = s.Sk, a.D = s.D, a.Dv = s.Dv, a.group = s.group;
  a.qb = s.qb, a.qh = s.qh, a.qs = s.qs, a.kb = s.kb, a.kh = s.kh, a.ks = s.ks;
  a.vb = s.vb, a.vh = s.vh, a.vs = s.vs, a.ob = s.ob, a.oh = s.oh, a.os = s.os;
  a.mask_keys = s.mask_keys;
  a.causal = p.causal;
  a.has_causal_offset = p.has_causal_offset, a.causal_offset = p.causal_offset;
  a.scale = p.scale, a.softcap = p.softcap;
  a.splits = 1;
  return a;
}

}  // namespace

bool attention_cuda_set_path(const char* kernel, int splits) {
  const int t = tier_from_name(kernel);
  if (t < 0 || splits < 0) return false;
  g_max_tier = t;
  g_force_splits = splits;
  return true;
}

std::string attention_cuda_last_kernel() { return g_last_kernel.get(); }

Status attention_cuda(const AttentionParams& p, const AttentionShape& s, int dev) {
  const int64_t rows = s.B * s.Hq * s.Sq;
  if (rows == 0) return Status::Ok();
  TK_RETURN_IF_ERROR(cuda::set_device(dev));
  const cuda::DeviceInfo& d = cuda::probe().devices[dev];
  const int cc = d.cc_major * 10 + d.cc_minor;
  Args a = make_args(p, s);
  const Plan pl = make_plan(p, s, a, cc);

  cuda::Workspace ws{dev};
  const Launch L{dev, d, static_cast<cudaStream_t>(cuda::stream(dev)), cc, d.multiprocessors > 0 ? d.multiprocessors : 1, rows, &ws};
  std::string name;
  switch (pl.tier) {
    case kSm90: TK_RETURN_IF_ERROR(launch_sm90(L, pl, p, s, a, &name)); break;
    case kDecode: TK_RETURN_IF_ERROR(launch_decode(L, pl, p, s, a, &name)); break;
    case kSm80: TK_RETURN_IF_ERROR(launch_sm80(L, pl, p, s, a, &name)); break;
    default: TK_RETURN_IF_ERROR(launch_simt(L, s, a, &name));
  }
  g_last_kernel.set(name);
  return cuda::synchronize(dev);
}

}  // namespace tk
