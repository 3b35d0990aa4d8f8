// Test hook for the GPU fault suite (test/gpu/faults.test.ts): provokes a sticky CUDA error on purpose so
// the suite can check it is reported clearly and the process survives. Not used by any op.
#include <cuda_runtime.h>

#include "check.h"
#include "runtime.h"

namespace tk::cuda {
namespace {

__global__ void trap_kernel() { __trap(); }

}  // namespace

Status inject_fault(int device, const std::string& kind) {
  if (kind != "trap") return InvalidArgument("Expected the fault kind \"trap\" but received \"" + kind + "\"");
  TK_RETURN_IF_ERROR(set_device(device));
  auto s = static_cast<cudaStream_t>(stream(device));
  trap_kernel<<<1, 1, 0, s>>>();
  TK_CUDA_CHECK(cudaGetLastError());
  TK_CUDA_CHECK(cudaStreamSynchronize(s));
  return Status::Ok();
}

}  // namespace tk::cuda
