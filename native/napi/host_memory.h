// Host memory the binding hands to JS: op outputs as external ArrayBuffers over blocks of the warm
// host pool (native/core/host_pool.h). A block goes back to the pool when its ArrayBuffer is
// collected, or at once when the tensor is disposed (the ArrayBuffer is then detached, so no JS view
// can reach memory that another tensor now uses). An async op pins the blocks it reads or writes:
// a block disposed while an op still uses it goes back when that op has finished.
#pragma once
#include <napi.h>

namespace tk::napi {

struct HostLease;

// The lease of pooled memory starting at `arraybuffer_data` (an ArrayBuffer's base), pinned; null
// when that memory is not pooled (the caller's own arrays).
HostLease* pin_host(void* arraybuffer_data);
void unpin_host(HostLease* lease);

// A pin held for the scope of an op (move-only).
class HostPin {
 public:
  explicit HostPin(HostLease* l) : l_(l) {}
  HostPin(HostPin&& o) noexcept : l_(o.l_) { o.l_ = nullptr; }
  HostPin& operator=(HostPin&&) = delete;
  HostPin(const HostPin&) = delete;
  ~HostPin() {
    if (l_) unpin_host(l_);
  }

 private:
  HostLease* l_;
};

}  // namespace tk::napi
