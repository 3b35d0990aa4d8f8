// The addon's exports, in four groups (lib/binding.ts NativeBinding):
//   ops      what the library's functions call (one params object per op, read by name: params.h)
//   runtime  devices, threads, host memory, op graphs
//   debug    test and bench hooks: kernel paths, the kernel that last ran, fault injection
//   bench    the bench baselines (registered only by native/bench)
// Each file with binding functions exports one register_<name>(); addon.cc calls them all.
#pragma once
#include <napi.h>

#include "errors.h"

namespace tk::napi {

struct Exports {
  Napi::Object ops, runtime, debug, bench;
};

// Sets obj[name] to the guarded binding function Fn.
template <Napi::Value (*Fn)(const Napi::CallbackInfo&)>
void set_fn(Napi::Env env, Napi::Object obj, const char* name) {
  obj.Set(name, Napi::Function::New<guard<Fn>>(env, name));
}

void register_runtime(Napi::Env env, const Exports& e);
void register_host_memory(Napi::Env env, const Exports& e);
void register_graph(Napi::Env env, const Exports& e);
void register_debug(Napi::Env env, const Exports& e);
void register_cast(Napi::Env env, const Exports& e);
void register_block(Napi::Env env, const Exports& e);
void register_gemm(Napi::Env env, const Exports& e);
void register_spmm(Napi::Env env, const Exports& e);
void register_attention(Napi::Env env, const Exports& e);
void register_linear_attention(Napi::Env env, const Exports& e);
void register_w4a4(Napi::Env env, const Exports& e);
void register_monarch(Napi::Env env, const Exports& e);
void register_int8mm(Napi::Env env, const Exports& e);
void register_lut(Napi::Env env, const Exports& e);
void register_bitmm(Napi::Env env, const Exports& e);
// native/bench
void register_bench(Napi::Env env, const Exports& e);
void register_bench_ops(Napi::Env env, const Exports& e);
void register_bench_spmm(Napi::Env env, const Exports& e);

}  // namespace tk::napi
