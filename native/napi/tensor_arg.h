// Unwrapping JS tensor descriptors into TensorViews. The descriptor (lib/binding.ts NativeTensor) is
//   { dtype: number, shape: number[], data?: ArrayBufferView, buffer?: DeviceBuffer }
// with exactly one of data (host) or buffer (device). Everything is re-checked here, since the
// binding may be called directly with garbage: dtype code, dims, overflow, byte length against
// shape x dtype, typed-array kind, alignment, released device buffers.
#pragma once
#include <napi.h>

#include <memory>
#include <vector>

#include "../core/tensor_view.h"
#include "device_buffer.h"
#include "host_memory.h"

namespace tk::napi {

// What an op must keep alive until it finishes: references to the JS typed arrays (host memory is
// the caller's and must not be collected mid-op), pins of pooled host blocks, and shares of device
// allocations. A sync op finishes inside the binding call, while the arrays are held by the call's
// own handles and no JavaScript can run to dispose them: it takes no references and no pins (they
// cost about a microsecond a call). persist() takes them, for work that outlives the call (an async
// op, an op graph): run_op calls it before handing the work over.
class KeepAlive {
 public:
  void hold(Napi::Value v) { held_.push_back(v); }
  void hold(std::shared_ptr<Allocation> a) { allocs_.push_back(std::move(a)); }
  // Pooled host memory (a tensor tensorkern allocated): once persisted, a dispose() meanwhile
  // detaches the buffer, but its block goes back to the pool only after this op.
  void pin(void* arraybuffer_data) { bases_.push_back(arraybuffer_data); }
  // Must run while the binding call that unwrapped the arrays is still running.
  void persist() {
    for (const Napi::Value& v : held_) refs_.push_back(Napi::Persistent(v.As<Napi::Object>()));
    held_.clear();
    for (void* b : bases_)
      if (HostLease* l = pin_host(b)) pins_.emplace_back(l);
    bases_.clear();
  }
  // Bytes of host tensors the op reads or writes (how large its work is, roughly).
  void add_host_bytes(size_t n) { host_bytes_ += n; }
  size_t host_bytes() const { return host_bytes_; }
  // The typed arrays held once persisted (an op graph checks their buffers before each replay).
  const std::vector<Napi::ObjectReference>& arrays() const { return refs_; }

 private:
  std::vector<Napi::Value> held_;
  std::vector<void*> bases_;
  std::vector<HostPin> pins_;
  size_t host_bytes_ = 0;
  std::vector<Napi::ObjectReference> refs_;
  std::vector<std::shared_ptr<Allocation>> allocs_;
};

// Throws a JS TypeError/RangeError (code set) naming `name` on bad input.
TensorView unwrap_tensor(Napi::Env env, Napi::Value v, const char* name, KeepAlive* keep);
// Same, but undefined/null gives a view with data == nullptr and ndim == -1 (an absent optional).
TensorView unwrap_optional_tensor(Napi::Env env, Napi::Value v, const char* name, KeepAlive* keep);

// Small helpers for scalar arguments, throwing named errors.
double get_number(Napi::Env env, Napi::Value v, const char* name);
bool get_bool(Napi::Env env, Napi::Value v, const char* name);
int32_t get_int(Napi::Env env, Napi::Value v, const char* name, int32_t lo, int32_t hi);

}  // namespace tk::napi
