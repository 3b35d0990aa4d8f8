// binding.gemm(a, b, c, bias, out, transA, transB, alpha, beta, async[, runDevice, allowTf32]),
// binding.gemmPlain(...same, sync) -- the bench's plain-loop baseline -- and the CUDA path controls
// gemmCudaSetPath(tier, splits) / gemmCudaLastKernel() for tests and benches.
#include "../../napi/async_op.h"
#include "../../napi/register.h"
#include "gemm.h"

namespace tk::napi {
namespace {

struct Unwrapped {
  GemmParams p;
  GemmShape s;
  KeepAlive keep;
};

void unwrap(const Napi::CallbackInfo& info, Unwrapped* u) {
  Napi::Env env = info.Env();
  u->p.a = unwrap_tensor(env, info[0], "a", &u->keep);
  u->p.b = unwrap_tensor(env, info[1], "b", &u->keep);
  u->p.c = unwrap_optional_tensor(env, info[2], "c", &u->keep);
  u->p.bias = unwrap_optional_tensor(env, info[3], "bias", &u->keep);
  u->p.out = unwrap_tensor(env, info[4], "out", &u->keep);
  u->p.trans_a = get_bool(env, info[5], "transA");
  u->p.trans_b = get_bool(env, info[6], "transB");
  u->p.alpha = static_cast<float>(get_number(env, info[7], "alpha"));
  u->p.beta = static_cast<float>(get_number(env, info[8], "beta"));
  Status s = gemm_validate(u->p, &u->s);
  if (!s.ok()) throw_status(env, s);
}

Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Unwrapped u;
  unwrap(info, &u);
  Napi::Env env = info.Env();
  const bool async = get_bool(env, info[9], "async");
  // Host tensors computed on a GPU (the JS layer resolved the device): its index, else -1.
  if (info.Length() > 10 && !info[10].IsUndefined()) u.p.run_device = get_int(env, info[10], "runDevice", -1, 1023);
  if (info.Length() > 11 && !info[11].IsUndefined()) u.p.allow_tf32 = get_bool(env, info[11], "allowTf32");
  if (u.p.run_device >= 0 && !u.p.a.device.is_cpu()) throw_status(env, InvalidArgument("runDevice applies to host tensors only"));
  GemmParams p = u.p;
  return run_op(info.Env(), "tensorkern:gemm", async, std::move(u.keep), [p] { return gemm(p); });
}

Napi::Value GemmPlain(const Napi::CallbackInfo& info) {
  Unwrapped u;
  unwrap(info, &u);
  if (!u.p.a.device.is_cpu()) throw_status(info.Env(), Unsupported("gemmPlain runs on the CPU"));
  GemmParams p = u.p;
  GemmShape s = u.s;
  return run_op(info.Env(), "tensorkern:gemmPlain", false, std::move(u.keep), [p, s] { return gemm_plain(p, s); });
}

Napi::Value GemmKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int32_t dt = get_int(env, info[0], "dtype", 0, kNumDTypes - 1);
  double m = get_number(env, info[1], "m");
  bool trans_b = get_bool(env, info[2], "transB");
  return Napi::String::New(env, gemm_cpu_kernel_name(static_cast<DType>(dt), static_cast<int64_t>(m), trans_b));
}

Napi::Value GemmCudaSetPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected a string for tier"));
  const std::string tier = info[0].As<Napi::String>().Utf8Value();
  const int32_t splits = get_int(env, info[1], "splits", 0, 64);
  if (!gemm_cuda_set_path(tier.c_str(), splits)) {
    throw_status(env, InvalidArgument("Expected 'auto', 'sm90', 'sm80' or 'simt' for tier but received \"" + tier + "\""));
  }
  return env.Undefined();
}

// Testing / bench hook: the AVX-512 block configs ('auto', 'wide', 'split'); returns those in use.
Napi::Value GemmSetBlocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected a string for blocks"));
  const std::string mode = info[0].As<Napi::String>().Utf8Value();
  if (!gemm_cpu_set_blocks(mode)) throw_status(env, InvalidArgument("Expected 'auto', 'wide' or 'split' for blocks but received \"" + mode + "\""));
  return Napi::String::New(env, gemm_cpu_blocks());
}

Napi::Value GemmCudaLastKernel(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), gemm_cuda_last_kernel());
}

}  // namespace

void register_gemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New<guard<Gemm>>(env, "gemm"));
  exports.Set("gemmPlain", Napi::Function::New<guard<GemmPlain>>(env, "gemmPlain"));
  exports.Set("gemmKernel", Napi::Function::New<guard<GemmKernel>>(env, "gemmKernel"));
  exports.Set("gemmSetBlocks", Napi::Function::New<guard<GemmSetBlocks>>(env, "gemmSetBlocks"));
  exports.Set("gemmCudaSetPath", Napi::Function::New<guard<GemmCudaSetPath>>(env, "gemmCudaSetPath"));
  exports.Set("gemmCudaLastKernel", Napi::Function::New<guard<GemmCudaLastKernel>>(env, "gemmCudaLastKernel"));
}

}  // namespace tk::napi
