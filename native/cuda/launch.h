// What every op's *_cuda.cu launch code needs: the shared-memory opt-in of a kernel, a call's device
// workspace freed on every path, and the tier an environment variable asks for.
#pragma once
#include <cuda_runtime_api.h>

#include <cstdlib>

#include "../core/status.h"
#include "check.h"
#include "runtime.h"

namespace tk::cuda {

// Lets `kernel` take `bytes` of dynamic shared memory (past the default 48 KiB it must opt in).
template <class K>
Status set_smem(K kernel, int bytes) {
  if (bytes > 48 * 1024) TK_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  return Status::Ok();
}

// Device memory of one call (split-K partials, a quantized operand, KV splits): allocated into `ptr`
// by the caller, released when the call's scope ends, whichever way it ends.
struct Workspace {
  int device;
  void* ptr = nullptr;
  ~Workspace() { release(device, ptr); }
};

// The tier `var` names through `from_name` (-1 for an unknown name), or `dflt` when it is unset or
// unknown: the initial value of an op's tier cap, read once.
inline int env_tier(const char* var, int (*from_name)(const char*), int dflt) {
  const int t = from_name(std::getenv(var));
  return t < 0 ? dflt : t;
}

}  // namespace tk::cuda
