// The debug group: the test and bench hooks, one signature for every op (native/core/op_hooks.h).
//   debug.setPath(op, device, path, splits) -> the path now in use
//   debug.lastKernel(op, device)            -> the kernel the op last ran there ('' before any)
//   debug.injectFault(device, kind)         -> the GPU fault suite's sticky error on purpose ('trap')
#include <string>

#include "../core/op_hooks.h"
#include "../cuda/runtime.h"
#include "../ops/attention/attention.h"
#include "../ops/gemm/gemm.h"
#include "../ops/linear_attention/linear_attention.h"
#include "../ops/monarch/monarch.h"
#include "../ops/int8mm/int8mm.h"
#include "../ops/lut/lut.h"
#include "../ops/bitmm/bitmm.h"
#include "../ops/spmm/spmm.h"
#include "../ops/w4a4/w4a4.h"
#include "register.h"
#include "tensor_arg.h"

namespace tk::napi {
namespace {

struct OpHooks {
  const char* op;
  SetPathFn set_path;
  LastKernelFn last_kernel;
};

const OpHooks kHooks[] = {
    {"gemm", gemm_set_path, gemm_last_kernel},
    {"spmm", spmm_set_path, spmm_last_kernel},
    {"attention", attention_set_path, attention_last_kernel},
    {"linearAttention", linear_attention_set_path, linear_attention_last_kernel},
    {"w4a4", w4a4_set_path, w4a4_last_kernel},
    {"monarch", monarch_set_path, monarch_last_kernel},
    {"int8mm", int8mm_set_path, int8mm_last_kernel},
    {"lut", lut_set_path, lut_last_kernel},
    {"bitmm", bitmm_set_path, bitmm_last_kernel},
};

std::string get_string(Napi::Env env, Napi::Value v, const char* name) {
  if (!v.IsString()) throw_status(env, TypeMismatch(std::string("Expected a string for ") + name + " but received " + describe(v)));
  return v.As<Napi::String>().Utf8Value();
}

const OpHooks& hooks_for(Napi::Env env, Napi::Value v) {
  const std::string op = get_string(env, v, "op");
  for (const OpHooks& h : kHooks)
    if (op == h.op) return h;
  throw_status(
      env,
      InvalidArgument(
          "Expected 'gemm', 'spmm', 'attention', 'w4a4', 'linearAttention', 'monarch', 'int8mm', 'lut' or 'bitmm' for op but received \"" +
          op + "\""));
}

Napi::Value SetPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const OpHooks& h = hooks_for(env, info[0]);
  const std::string device = get_string(env, info[1], "device"), path = get_string(env, info[2], "path");
  const int32_t splits = info[3].IsUndefined() ? 0 : get_int(env, info[3], "splits", 0, 1 << 20);
  std::string in_use;
  Status s = h.set_path(device, path, splits, &in_use);
  if (!s.ok()) throw_status(env, s);
  return Napi::String::New(env, in_use);
}

Napi::Value LastKernel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const OpHooks& h = hooks_for(env, info[0]);
  const std::string device = get_string(env, info[1], "device");
  if (device != "cpu" && device != "cuda") throw_status(env, unknown_device(h.op, device));
  return Napi::String::New(env, h.last_kernel(device));
}

Napi::Value InjectFault(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int32_t dev = get_int(env, info[0], "device", 0, 1 << 20);
  Status s = cuda::inject_fault(dev, get_string(env, info[1], "kind"));
  if (!s.ok()) throw_status(env, s);
  return env.Undefined();
}

}  // namespace

void register_debug(Napi::Env env, const Exports& e) {
  set_fn<SetPath>(env, e.debug, "setPath");
  set_fn<LastKernel>(env, e.debug, "lastKernel");
  set_fn<InjectFault>(env, e.debug, "injectFault");
}

}  // namespace tk::napi
