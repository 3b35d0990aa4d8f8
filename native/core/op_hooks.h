// The test and bench hooks of an op with more than one kernel: one signature for every op, behind
// debug.setPath(op, device, path, splits) and debug.lastKernel(op, device) (native/napi/debug_napi.cc).
//
//   Status <op>_set_path(const std::string& device, const std::string& path, int splits, std::string* in_use);
//     Forces the kernel path on device "cpu" or "cuda" ("auto" = the op's own choice) and a split count
//     (0 = automatic) where that path splits; *in_use = the path now in use. An unknown device, path or
//     split count is an InvalidArgument naming what there is.
//   std::string <op>_last_kernel(const std::string& device);
//     The kernel the op last ran there ("" before any), recorded by the dispatch that ran it
//     (kernel_record.h on the CPU, cuda::LastKernel on a GPU).
#pragma once
#include <string>

#include "status.h"

namespace tk {

using SetPathFn = Status (*)(const std::string& device, const std::string& path, int splits, std::string* in_use);
using LastKernelFn = std::string (*)(const std::string& device);

// The error for a path (or split count) `op` does not have on `device`; `paths` lists those it has.
inline Status unknown_path(const char* op, const std::string& device, const std::string& path, int splits, const char* paths) {
  return InvalidArgument(std::string("Expected ") + paths + " for the " + op + " path on " + device + " but received \"" + path +
                         "\" with splits = " + std::to_string(splits));
}

inline Status unknown_device(const char* op, const std::string& device) {
  return InvalidArgument(std::string("Expected 'cpu' or 'cuda' for the device of the ") + op + " path but received \"" + device + "\"");
}

}  // namespace tk
