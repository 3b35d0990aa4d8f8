// The kernel an op last ran on the CPU, as its tests and benches ask for it (debug.lastKernel): the
// dispatch records the name of what it runs -- a static string, one relaxed store, free on every call
// -- so the answer is what ran, never a second guess at the dispatch. (The CUDA paths keep theirs in
// cuda::LastKernel: their names are composed per launch.)
#pragma once
#include <atomic>

namespace tk {

class CpuKernelRecord {
 public:
  // Returns `name`, so a dispatch can record and call in one line.
  const char* set(const char* name) {
    name_.store(name, std::memory_order_relaxed);
    return name;
  }
  const char* get() const { return name_.load(std::memory_order_relaxed); }

 private:
  std::atomic<const char*> name_{""};
};

}  // namespace tk
