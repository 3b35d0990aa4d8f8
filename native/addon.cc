// Module init. Context-aware (NAPI_MODULE_INIT): every environment (main thread, each worker_thread)
// gets its own exports and instance data; process-wide state (thread pool, CUDA probe, streams)
// lives in native/core and native/cuda.
#include <napi.h>

#include "napi/addon_data.h"
#include "napi/device_buffer.h"
#include "napi/register.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new tk::napi::AddonData();
  env.SetInstanceData(data);  // deleted by node-addon-api when the environment is torn down
  Napi::Function ctor = tk::napi::DeviceBuffer::Init(env);
  data->device_buffer_ctor = Napi::Persistent(ctor);
  const tk::napi::Exports e{Napi::Object::New(env), Napi::Object::New(env), Napi::Object::New(env), Napi::Object::New(env)};
  e.runtime.Set("DeviceBuffer", ctor);
  tk::napi::register_runtime(env, e);
  tk::napi::register_host_memory(env, e);
  tk::napi::register_graph(env, e);
  tk::napi::register_debug(env, e);
  tk::napi::register_cast(env, e);
  tk::napi::register_block(env, e);
  tk::napi::register_gemm(env, e);
  tk::napi::register_spmm(env, e);
  tk::napi::register_attention(env, e);
  tk::napi::register_linear_attention(env, e);
  tk::napi::register_w4a4(env, e);
  tk::napi::register_monarch(env, e);
  tk::napi::register_int8mm(env, e);
  tk::napi::register_lut(env, e);
  tk::napi::register_bitmm(env, e);
  tk::napi::register_bench(env, e);
  tk::napi::register_bench_ops(env, e);
  tk::napi::register_bench_spmm(env, e);
  exports.Set("ops", e.ops);
  exports.Set("runtime", e.runtime);
  exports.Set("debug", e.debug);
  exports.Set("bench", e.bench);
  return exports;
}

}  // namespace

NODE_API_MODULE(tensorkern, Init)
