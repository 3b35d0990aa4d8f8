// Unwrapping JS tensor descriptors into TensorViews. The descriptor (lib/binding.ts NativeTensor) is
//   { dtype: number, shape: number[], data?: ArrayBufferView, buffer?: DeviceBuffer }
// with exactly one of data (host) or buffer (device). Everything is re-checked here, since the
// binding may be called directly with garbage: dtype code, dims, overflow, byte length against
// shape x dtype, typed-array kind, alignment, released device buffers.
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "../core/tensor_view.h"
#include "device_buffer.h"
#include "host_memory.h"

namespace tk::napi {

// What an op must keep alive until it finishes: references to the JS typed arrays (host memory is
// the caller's and must not be collected mid-op), pins of pooled host blocks, and shares of device
// allocations. A sync op finishes inside the binding call, while the arrays are held by the call's
// own handles and no JavaScript can run to dispose them: it takes no references and no pins (they
// cost about a microsecond a call). persist(env) takes them, for work that outlives the call (an async
// op, an op graph): run_op calls it before handing the work over.
class KeepAlive {
 public:
  void hold(napi_value v) {
    if (nheld_ < kInline)
      held_[nheld_++] = v;
    else
      more_held_.push_back(v);
  }
  void hold(std::shared_ptr<Allocation> a) { allocs_.push_back(std::move(a)); }
  // Pooled host memory (a tensor tensorkern allocated): once persisted, a dispose() meanwhile
  // detaches the buffer, but its block goes back to the pool only after this op.
  void pin(void* arraybuffer_data) {
    if (nbases_ < kInline)
      bases_[nbases_++] = arraybuffer_data;
    else
      more_bases_.push_back(arraybuffer_data);
  }
  // Must run while the binding call that unwrapped the arrays is still running.
  void persist(Napi::Env env) {
    for (size_t i = 0; i < nheld_ + more_held_.size(); ++i) {
      napi_value v = i < nheld_ ? held_[i] : more_held_[i - nheld_];
      refs_.push_back(Napi::Persistent(Napi::Object(env, v)));
    }
    nheld_ = 0;
    more_held_.clear();
    for (size_t i = 0; i < nbases_ + more_bases_.size(); ++i)
      if (HostLease* l = pin_host(i < nbases_ ? bases_[i] : more_bases_[i - nbases_])) pins_.emplace_back(l);
    nbases_ = 0;
    more_bases_.clear();
  }
  // Bytes of host tensors the op reads or writes (how large its work is, roughly).
  void add_host_bytes(size_t n) { host_bytes_ += n; }
  size_t host_bytes() const { return host_bytes_; }
  // The typed arrays held once persisted (an op graph checks their buffers before each replay).
  const std::vector<Napi::ObjectReference>& arrays() const { return refs_; }

 private:
  // Most ops touch a handful of tensors: their handles stay inline (no allocation per call).
  static constexpr size_t kInline = 8;
  napi_value held_[kInline];
  size_t nheld_ = 0;
  std::vector<napi_value> more_held_;
  void* bases_[kInline];
  size_t nbases_ = 0;
  std::vector<void*> more_bases_;
  std::vector<HostPin> pins_;
  size_t host_bytes_ = 0;
  std::vector<Napi::ObjectReference> refs_;
  std::vector<std::shared_ptr<Allocation>> allocs_;
};

// Throws a JS TypeError/RangeError (code set) naming `name` on bad input.
TensorView unwrap_tensor(Napi::Env env, Napi::Value v, const char* name, KeepAlive* keep);
TensorView unwrap_tensor(napi_env env, napi_value v, const std::string& name, KeepAlive* keep);
// Same, but undefined/null gives a view with data == nullptr and ndim == -1 (an absent optional).
TensorView unwrap_optional_tensor(Napi::Env env, Napi::Value v, const char* name, KeepAlive* keep);

// How a JS value is named in messages ("number 3.000000", "an array", ...).
std::string describe(Napi::Value v);

// Small helpers for scalar arguments, throwing named errors.
double get_number(Napi::Env env, Napi::Value v, const char* name);
bool get_bool(Napi::Env env, Napi::Value v, const char* name);
int32_t get_int(Napi::Env env, Napi::Value v, const char* name, int32_t lo, int32_t hi);

}  // namespace tk::napi
