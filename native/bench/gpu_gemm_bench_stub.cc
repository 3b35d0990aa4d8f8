// The CPU-only build: no GPU bench.
#include "gpu_gemm_bench.h"

namespace tk::bench {
CublasInfo cublas_load() {
  CublasInfo i;
  i.why = "this tensorkern binary was built without CUDA";
  return i;
}
Status gpu_time_gemm(const std::string&, const GemmParams&, int, int, std::vector<double>*) {
  return NoGpu("this tensorkern binary was built without CUDA");
}
Status cublas_gemm_batched(int, bool, bool, int64_t, int64_t, int64_t, float, const void*, int64_t, int64_t, const void*, int64_t, int64_t,
                           void*, int64_t, int64_t, int64_t, DType, DType) {
  return NoGpu("this tensorkern binary was built without CUDA");
}
}  // namespace tk::bench
