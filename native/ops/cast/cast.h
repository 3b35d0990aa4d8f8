// cast: dst = src converted to dst's dtype (float32 <-> float16 <-> bfloat16, or a plain copy when
// the dtypes agree), or a transfer between host and device (same dtype). Used by cast(),
// Tensor.to(device) and toArray().
#pragma once
#include <cstdint>

#include "../../core/status.h"
#include "../../core/tensor_view.h"

namespace tk {

struct CastParams {
  TensorView src, dst;
};

Status validate(const CastParams& p);
Status cast(const CastParams& p);

Status cast_cpu(const CastParams& p);
Status cast_cuda(const CastParams& p);  // both views on the same CUDA device

// Per-ISA bodies: convert n elements; false when the pair is not one this ISA accelerates.
bool cast_avx2(DType from, DType to, const void* src, void* dst, int64_t n);
bool cast_avx512(DType from, DType to, const void* src, void* dst, int64_t n);
bool cast_neon(DType from, DType to, const void* src, void* dst, int64_t n);

}  // namespace tk
