// CUDA error -> Status. Only for files compiled with the CUDA runtime headers.
#pragma once
#include <cuda_runtime_api.h>

#include <string>

#include "../core/status.h"
#include "runtime.h"

namespace tk::cuda {

// Errors that leave the CUDA context unusable for the rest of the process: every later call on it fails.
inline bool is_sticky(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorAssert:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
    case cudaErrorContextIsDestroyed: return true;
    default: return false;
  }
}

inline Status from_cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  std::string msg = std::string(what) + " failed: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  if (e == cudaErrorMemoryAllocation) return OutOfMemory("GPU memory exhausted: " + msg);
  if (is_sticky(e)) {
    msg +=
        "; this error is sticky: the CUDA context of this process cannot be used again (every later GPU call fails), "
        "so restart the process to use the GPU; CPU tensors and ops are unaffected";
    record_sticky(msg);
  }
  return Status(Code::kCuda, msg);
}

}  // namespace tk::cuda

#define TK_CUDA_CHECK(expr) TK_RETURN_IF_ERROR(::tk::cuda::from_cuda((expr), #expr))
