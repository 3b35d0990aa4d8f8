#pragma once
#include "gemm_kernel_common.cuh"
#include "../../cuda/check.h"
namespace tk::cugemm {
inline bool sm90_supports(int64_t, int64_t, int64_t) { return false; }
inline Status launch_sm90(DType, const DevArgs&, bool, bool, int, cudaStream_t) { return Unsupported("sm90"); }
}
