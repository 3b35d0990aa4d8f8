// binding.w4a4(x, w, scales, zeroPoints, outlierIdx, outlierW, outlierScales, bias, out,
//              groupSize, rotateBlock, actBits, async, xScales?)  -- xScales: x is pre-quantized int8
// binding.w4a4Plain(...same but async)  -- the bench's plain-loop baseline (sync, CPU)
// binding.w4a4QuantizeRows(x, q, scales, bits, rotateBlock, async?)  -- per-row contract quantizer (activations, weight groups)
// binding.w4a4Kernel(actBits, m, k, groupSize) -- the CPU kernel name
// binding.w4a4CudaSetPath(path) / w4a4CudaLastKernel() -- force the CUDA kernel; what the last call ran
#include <string>

#include "../../napi/async_op.h"
#include "../../napi/register.h"
#include "w4a4.h"

namespace tk::napi {
namespace {

struct Unwrapped {
  W4A4Params p;
  W4A4Shape s;
  KeepAlive keep;
};

void unwrap(const Napi::CallbackInfo& info, Unwrapped* u) {
  Napi::Env env = info.Env();
  u->p.x = unwrap_tensor(env, info[0], "x", &u->keep);
  u->p.w = unwrap_tensor(env, info[1], "w", &u->keep);
  u->p.scales = unwrap_tensor(env, info[2], "scales", &u->keep);
  u->p.zero_points = unwrap_optional_tensor(env, info[3], "zeroPoints", &u->keep);
  u->p.outlier_idx = unwrap_optional_tensor(env, info[4], "outlierChannels", &u->keep);
  u->p.outlier_w = unwrap_optional_tensor(env, info[5], "outlierWeights", &u->keep);
  u->p.outlier_scales = unwrap_optional_tensor(env, info[6], "outlierScales", &u->keep);
  u->p.bias = unwrap_optional_tensor(env, info[7], "bias", &u->keep);
  u->p.out = unwrap_tensor(env, info[8], "out", &u->keep);
  u->p.group_size = get_int(env, info[9], "groupSize", 0, 1 << 30);
  u->p.rotate_block = get_int(env, info[10], "rotateBlock", 0, 1 << 30);
  u->p.act_bits = get_int(env, info[11], "actBits", 0, 8);
  u->p.x_scales = unwrap_optional_tensor(env, info[13], "xScales", &u->keep);  // after async: optional
  Status s = w4a4_validate(u->p, &u->s);
  if (!s.ok()) throw_status(env, s);
}

Napi::Value W4A4(const Napi::CallbackInfo& info) {
  Unwrapped u;
  unwrap(info, &u);
  const bool async = get_bool(info.Env(), info[12], "async");
  W4A4Params p = u.p;
  return run_op(info.Env(), "tensorkern:w4a4", async, std::move(u.keep), [p] { return w4a4(p); });
}

Napi::Value W4A4Plain(const Napi::CallbackInfo& info) {
  Unwrapped u;
  unwrap(info, &u);
  if (!u.p.x.device.is_cpu()) throw_status(info.Env(), Unsupported("w4a4Plain runs on the CPU"));
  W4A4Params p = u.p;
  W4A4Shape s = u.s;
  return run_op(info.Env(), "tensorkern:w4a4Plain", false, std::move(u.keep), [p, s] { return w4a4_plain(p, s); });
}

Napi::Value QuantizeRows(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  KeepAlive keep;
  TensorView x = unwrap_tensor(env, info[0], "x", &keep);
  TensorView q = unwrap_tensor(env, info[1], "q", &keep);
  TensorView sc = unwrap_tensor(env, info[2], "scales", &keep);
  const int bits = get_int(env, info[3], "bits", 4, 8);
  const int64_t rb = get_int(env, info[4], "rotateBlock", 0, 1 << 30);
  Status st = Status::Ok();
  if (x.ndim != 2 || x.dtype != DType::kFloat32 || !x.device.is_cpu())
    st = InvalidArgument("Expected x as a rank-2 float32 CPU tensor");
  else if (bits != 4 && bits != 8)
    st = InvalidArgument("Expected bits 4 or 8 but received " + std::to_string(bits));
  else if (q.dtype != DType::kInt8 || q.numel != x.numel || !q.device.is_cpu())
    st = InvalidArgument("Expected q as an int8 CPU tensor with the elements of x");
  else if (sc.dtype != DType::kFloat32 || sc.numel != x.shape[0] || !sc.device.is_cpu())
    st = InvalidArgument("Expected scales as a float32 CPU tensor with one element per row of x");
  else if (rb != 0 && ((rb & (rb - 1)) != 0 || rb < 2 || x.shape[1] % rb != 0))
    st = InvalidArgument("Expected a rotation block that is a power of two dividing K");
  if (!st.ok()) throw_status(env, st);
  const bool async = info.Length() > 5 && !info[5].IsUndefined() && get_bool(env, info[5], "async");
  return run_op(env, "tensorkern:w4a4QuantizeRows", async, std::move(keep),
                [x, q, sc, bits, rb] { return w4a4_quantize_rows(x, bits, rb, q.as<int8_t>(), sc.as<float>()); });
}

Napi::Value Kernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int bits = get_int(env, info[0], "actBits", 0, 8);
  const double m = get_number(env, info[1], "m"), k = get_number(env, info[2], "k"), gs = get_number(env, info[3], "groupSize");
  return Napi::String::New(env, w4a4_cpu_kernel_name(bits, int64_t(m), int64_t(k), int64_t(gs)));
}

Napi::Value CudaSetPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw_status(env, TypeMismatch("Expected a string for path"));
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  if (!w4a4_cuda_set_path(path.c_str())) {
    throw_status(env, InvalidArgument("Expected 'auto', 's4', 'int8' or 'simt' for path but received \"" + path + "\""));
  }
  return env.Undefined();
}

Napi::Value CudaLastKernel(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), w4a4_cuda_last_kernel()); }

}  // namespace

void register_w4a4(Napi::Env env, Napi::Object exports) {
  exports.Set("w4a4", Napi::Function::New<guard<W4A4>>(env, "w4a4"));
  exports.Set("w4a4Plain", Napi::Function::New<guard<W4A4Plain>>(env, "w4a4Plain"));
  exports.Set("w4a4QuantizeRows", Napi::Function::New<guard<QuantizeRows>>(env, "w4a4QuantizeRows"));
  exports.Set("w4a4Kernel", Napi::Function::New<guard<Kernel>>(env, "w4a4Kernel"));
  exports.Set("w4a4CudaSetPath", Napi::Function::New<guard<CudaSetPath>>(env, "w4a4CudaSetPath"));
  exports.Set("w4a4CudaLastKernel", Napi::Function::New<guard<CudaLastKernel>>(env, "w4a4CudaLastKernel"));
}

}  // namespace tk::napi
