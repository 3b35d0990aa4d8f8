// binding.attention(q, k, v, mask, kvLengths, out, lse, causal, bshd, scale, softcap, causalOffset, qkOut, qkStage,
// async) (causalOffset: an integer, or null / undefined for the bottom-right default; qkOut: a float32 CPU tensor
// for the score matrix at stage qkStage 0..3 (attention.h QkStage), or null / undefined),
// binding.attentionPlain(q, k, v, out, causal, scale) -- the bench's unfused baseline (sync), and
// binding.attentionKernel(dtype) -- the kernel name the CPU path uses -- and the CUDA path controls
// attentionCudaSetPath(kernel, splits) / attentionCudaLastKernel() for tests and benches.
#include <cmath>

#include "../../napi/async_op.h"
#include "../../napi/register.h"
#include "../../bench/gpu_attention_bench.h"
#include "attention.h"

namespace tk::napi {
namespace {

struct Unwrapped {
  AttentionParams p;
  AttentionShape s;
  KeepAlive keep;
};

void check(Napi::Env env, Unwrapped* u) {
  Status s = attention_validate(u->p, &u->s);
  if (!s.ok()) throw_status(env, s);
}

Napi::Value Attention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Unwrapped u;
  u.p.q = unwrap_tensor(env, info[0], "q", &u.keep);
  u.p.k = unwrap_tensor(env, info[1], "k", &u.keep);
  u.p.v = unwrap_tensor(env, info[2], "v", &u.keep);
  u.p.mask = unwrap_optional_tensor(env, info[3], "mask", &u.keep);
  u.p.kv_lengths = unwrap_optional_tensor(env, info[4], "kvLengths", &u.keep);
  u.p.out = unwrap_tensor(env, info[5], "out", &u.keep);
  u.p.lse = unwrap_optional_tensor(env, info[6], "lse", &u.keep);
  u.p.causal = get_bool(env, info[7], "causal");
  u.p.bshd = get_bool(env, info[8], "bshd");
  u.p.scale = static_cast<float>(get_number(env, info[9], "scale"));
  u.p.softcap = static_cast<float>(get_number(env, info[10], "softcap"));
  if (!std::isfinite(u.p.scale)) throw_status(env, InvalidArgument("Expected a finite scale"));
  if (!(u.p.softcap >= 0.0f) || !std::isfinite(u.p.softcap)) throw_status(env, InvalidArgument("Expected a finite softcap >= 0"));
  if (!info[11].IsUndefined() && !info[11].IsNull()) {
    const double off = get_number(env, info[11], "causalOffset");
    if (!(std::floor(off) == off) || std::fabs(off) > 9007199254740991.0)
      throw_status(env, InvalidArgument("Expected an integer causalOffset"));
    u.p.has_causal_offset = true;
    u.p.causal_offset = static_cast<int64_t>(off);
  }
  u.p.qk_out = unwrap_optional_tensor(env, info[12], "qkOutput", &u.keep);
  u.p.qk_stage = present(u.p.qk_out) ? get_int(env, info[13], "qkStage", kQkScores, kQkSoftmax) : kQkNone;
  check(env, &u);
  const bool async = get_bool(env, info[14], "async");
  AttentionParams p = u.p;
  // attention() validates again when the work runs: host kvLengths may be the caller's own tensor
  // (no copy), whose values can change after this call returns, and the kernels index keys with them.
  return run_op(env, "tensorkern:attention", async, std::move(u.keep), [p] { return attention(p); });
}

Napi::Value AttentionPlain(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Unwrapped u;
  u.p.q = unwrap_tensor(env, info[0], "q", &u.keep);
  u.p.k = unwrap_tensor(env, info[1], "k", &u.keep);
  u.p.v = unwrap_tensor(env, info[2], "v", &u.keep);
  u.p.out = unwrap_tensor(env, info[3], "out", &u.keep);
  u.p.mask.ndim = u.p.kv_lengths.ndim = u.p.lse.ndim = u.p.qk_out.ndim = -1;
  u.p.causal = get_bool(env, info[4], "causal");
  u.p.scale = static_cast<float>(get_number(env, info[5], "scale"));
  check(env, &u);
  AttentionParams p = u.p;
  AttentionShape s = u.s;
  return run_op(env, "tensorkern:attentionPlain", false, std::move(u.keep), [p, s] { return attention_plain(p, s); });
}

Napi::Value AttentionKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t dt = get_int(env, info[0], "dtype", 0, kNumDTypes - 1);
  return Napi::String::New(env, attention_cpu_kernel_name(static_cast<DType>(dt)));
}

Napi::Value AttentionCudaSetPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected a string for kernel"));
  const std::string kernel = info[0].As<Napi::String>().Utf8Value();
  const int32_t splits = get_int(env, info[1], "splits", 0, 128);
  if (!attention_cuda_set_path(kernel.c_str(), splits)) {
    throw_status(env, InvalidArgument("Expected 'auto', 'sm90', 'decode', 'sm80' or 'simt' for kernel but received \"" + kernel + "\""));
  }
  return env.Undefined();
}

Napi::Value AttentionCudaLastKernel(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), attention_cuda_last_kernel()); }

// gpuAttentionTime(which, q, k, v, out, causal, scale, warmup, runs) -> seconds per run (CUDA events),
// device tensors, 'bhsd'; which = 'tensorkern' | 'cublas' (the materialized baseline).
Napi::Value GpuAttentionTime(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected 'tensorkern' or 'cublas'"));
  const std::string which = info[0].As<Napi::String>().Utf8Value();
  AttentionParams p;
  p.q = unwrap_tensor(env, info[1], "q", nullptr);
  p.k = unwrap_tensor(env, info[2], "k", nullptr);
  p.v = unwrap_tensor(env, info[3], "v", nullptr);
  p.out = unwrap_tensor(env, info[4], "out", nullptr);
  p.mask.ndim = p.kv_lengths.ndim = p.lse.ndim = p.qk_out.ndim = -1;
  p.causal = get_bool(env, info[5], "causal");
  p.scale = static_cast<float>(get_number(env, info[6], "scale"));
  const int warmup = get_int(env, info[7], "warmup", 0, 1000), runs = get_int(env, info[8], "runs", 1, 100000);
  std::vector<double> secs;
  Status st = bench::gpu_time_attention(which, p, warmup, runs, &secs);
  if (!st.ok()) throw_status(env, st);
  Napi::Array a = Napi::Array::New(env, secs.size());
  for (size_t i = 0; i < secs.size(); ++i) a.Set(uint32_t(i), secs[i]);
  return a;
}

}  // namespace

void register_attention(Napi::Env env, Napi::Object exports) {
  exports.Set("attention", Napi::Function::New<guard<Attention>>(env, "attention"));
  exports.Set("attentionPlain", Napi::Function::New<guard<AttentionPlain>>(env, "attentionPlain"));
  exports.Set("attentionKernel", Napi::Function::New<guard<AttentionKernel>>(env, "attentionKernel"));
  exports.Set("attentionCudaSetPath", Napi::Function::New<guard<AttentionCudaSetPath>>(env, "attentionCudaSetPath"));
  exports.Set("gpuAttentionTime", Napi::Function::New<guard<GpuAttentionTime>>(env, "gpuAttentionTime"));
  exports.Set("attentionCudaLastKernel", Napi::Function::New<guard<AttentionCudaLastKernel>>(env, "attentionCudaLastKernel"));
}

}  // namespace tk::napi
