// The CPU-only build: no GPU spmm bench.
#include "gpu_spmm_bench.h"

namespace tk::bench {
CusparseInfo cusparse_load() {
  CusparseInfo i;
  i.why = "this tensorkern binary was built without CUDA";
  return i;
}
Status gpu_time_cusparse_spmm(const TensorView&, const TensorView&, const TensorView&, int64_t, int64_t, const TensorView&,
                              const TensorView&, int, int, std::vector<double>*) {
  return NoGpu("this tensorkern binary was built without CUDA");
}
}  // namespace tk::bench
