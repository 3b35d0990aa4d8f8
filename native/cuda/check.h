// CUDA error -> Status. Only for files compiled with the CUDA runtime headers.
#pragma once
#include <cuda_runtime_api.h>

#include <string>

#include "../core/status.h"

namespace tk::cuda {

inline Status from_cuda(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::Ok();
  std::string msg = std::string(what) + " failed: " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
  if (e == cudaErrorMemoryAllocation) return OutOfMemory("GPU memory exhausted: " + msg);
  return Status(Code::kCuda, msg);
}

}  // namespace tk::cuda

#define TK_CUDA_CHECK(expr) TK_RETURN_IF_ERROR(::tk::cuda::from_cuda((expr), #expr))
