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
  // Weights packed ahead (packWeights): the packed bytes and their layout; b stays the source.
  if (info.Length() > 13 && !info[12].IsUndefined()) {
    u.p.packed_b = unwrap_tensor(env, info[12], "packed", &u.keep);
    if (!info[13].IsString()) throw_status(env, TypeMismatch("Expected a string for packedLayout"));
    u.p.packed_layout = info[13].As<Napi::String>().Utf8Value();
    if (!u.p.packed_b.device.is_cpu()) throw_status(env, InvalidArgument("Expected packed weights in host memory"));
  }
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

// gemmPackLayout(dtype, K, N) -> { layout, bytes }: what packing op(B) [K, N] means on the active ISA
// (layout '' when the dtype has no packed path).
Napi::Value GemmPackLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t dt = get_int(env, info[0], "dtype", 0, kNumDTypes - 1);
  const double K = get_number(env, info[1], "K"), N = get_number(env, info[2], "N");
  if (!(K >= 0 && N >= 0 && K <= 9007199254740991.0 && N <= 9007199254740991.0 && K == static_cast<int64_t>(K) &&
        N == static_cast<int64_t>(N))) {
    throw_status(env, InvalidArgument("Expected whole, non-negative K and N"));
  }
  const PackedLayout l = gemm_packed_layout(static_cast<DType>(dt), static_cast<int64_t>(K), static_cast<int64_t>(N));
  Napi::Object o = Napi::Object::New(env);
  o.Set("layout", l.id);
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(l.bytes)));
  return o;
}

// gemmPackB(b, transB, dst, layout, async): packs op(b) into dst in `layout` (gemmPackLayout's).
Napi::Value GemmPackB(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  const TensorView b = unwrap_tensor(env, info[0], "b", &keep);
  const bool trans_b = get_bool(env, info[1], "transB");
  const TensorView dst = unwrap_tensor(env, info[2], "dst", &keep);
  if (!info[3].IsString()) throw_status(env, TypeMismatch("Expected a string for layout"));
  const std::string layout = info[3].As<Napi::String>().Utf8Value();
  const bool async = get_bool(env, info[4], "async");
  return run_op(env, "tensorkern:packWeights", async, std::move(keep),
                [b, trans_b, dst, layout] { return gemm_pack_b(b, trans_b, dst, layout); });
}

// Testing / bench hook: the AVX-512 block configs ('auto', 'wide', 'split'); returns those in use.
Napi::Value GemmSetBlocks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected a string for blocks"));
  const std::string mode = info[0].As<Napi::String>().Utf8Value();
  if (!gemm_cpu_set_blocks(mode))
    throw_status(env, InvalidArgument("Expected 'auto', 'wide' or 'split' for blocks but received \"" + mode + "\""));
  return Napi::String::New(env, gemm_cpu_blocks());
}

Napi::Value GemmCudaLastKernel(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), gemm_cuda_last_kernel()); }

}  // namespace

void register_gemm(Napi::Env env, Napi::Object exports) {
  exports.Set("gemm", Napi::Function::New<guard<Gemm>>(env, "gemm"));
  exports.Set("gemmPlain", Napi::Function::New<guard<GemmPlain>>(env, "gemmPlain"));
  exports.Set("gemmKernel", Napi::Function::New<guard<GemmKernel>>(env, "gemmKernel"));
  exports.Set("gemmPackLayout", Napi::Function::New<guard<GemmPackLayout>>(env, "gemmPackLayout"));
  exports.Set("gemmPackB", Napi::Function::New<guard<GemmPackB>>(env, "gemmPackB"));
  exports.Set("gemmSetBlocks", Napi::Function::New<guard<GemmSetBlocks>>(env, "gemmSetBlocks"));
  exports.Set("gemmCudaSetPath", Napi::Function::New<guard<GemmCudaSetPath>>(env, "gemmCudaSetPath"));
  exports.Set("gemmCudaLastKernel", Napi::Function::New<guard<GemmCudaLastKernel>>(env, "gemmCudaLastKernel"));
}

}  // namespace tk::napi
