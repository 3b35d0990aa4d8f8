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
  Napi::Array keys = Napi::Array::New(env, 4);
  const char* names[] = {"dtype", "shape", "data", "buffer"};
  for (uint32_t i = 0; i < 4; ++i) keys.Set(i, Napi::String::New(env, names[i]));
  data->tensor_keys = Napi::Persistent(Napi::Object(keys));
  exports.Set("DeviceBuffer", ctor);
  tk::napi::register_runtime(env, exports);
  tk::napi::register_host_memory(env, exports);
  tk::napi::register_graph(env, exports);
  tk::napi::register_cast(env, exports);
  tk::napi::register_block(env, exports);
  tk::napi::register_gemm(env, exports);
  tk::napi::register_bench(env, exports);
  tk::napi::register_spmm(env, exports);
  tk::napi::register_bench_spmm(env, exports);
  tk::napi::register_attention(env, exports);
  tk::napi::register_w4a4(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(tensorkern, Init)
