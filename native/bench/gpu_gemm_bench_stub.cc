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
}  // namespace tk::bench
