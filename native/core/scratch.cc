#include "scratch.h"

#include <cstdlib>
#include <new>

namespace tk {
namespace {

struct Buffers {
  void* p[static_cast<int>(ScratchSlot::kCount)] = {};
  size_t size[static_cast<int>(ScratchSlot::kCount)] = {};
  ~Buffers() {
    for (void* x : p) std::free(x);
  }
};

thread_local Buffers t_buffers;

}  // namespace

void* thread_scratch(ScratchSlot slot, size_t bytes) {
  const int i = static_cast<int>(slot);
  if (t_buffers.size[i] < bytes) {
    const size_t want = (bytes + bytes / 4 + 63) & ~size_t(63);  // grow with headroom
    void* q = std::aligned_alloc(64, want);
    if (q == nullptr) throw std::bad_alloc();
    std::free(t_buffers.p[i]);
    t_buffers.p[i] = q;
    t_buffers.size[i] = want;
  }
  return t_buffers.p[i];
}

}  // namespace tk
