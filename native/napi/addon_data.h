// Per-environment state (the addon is context-aware: each worker_thread has its own).
#pragma once
#include <napi.h>

namespace tk::napi {

class Graph;

struct AddonData {
  Napi::FunctionReference device_buffer_ctor;
  Napi::FunctionReference graph_ctor;
  // The op graph run_op records into instead of running (graph.h), or null.
  Graph* recording = nullptr;
};

inline AddonData& addon_data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace tk::napi
