// The CPU-only build: no GPU attention bench.
#include "gpu_attention_bench.h"

namespace tk::bench {
Status gpu_time_attention(const std::string&, const AttentionParams&, int, int, std::vector<double>*) {
  return NoGpu("this tensorkern binary was built without CUDA");
}
}  // namespace tk::bench
