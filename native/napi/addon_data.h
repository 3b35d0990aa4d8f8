// Per-environment state (the addon is context-aware: each worker_thread has its own).
#pragma once
#include <napi.h>

namespace tk::napi {

struct AddonData {
  Napi::FunctionReference device_buffer_ctor;
};

inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace tk::napi
