#include "cast.h"

#include <string>

#include "../../cuda/runtime.h"

namespace tk {

Status validate(const CastParams& p) {
  if (p.src.numel != p.dst.numel) {
    return InvalidArgument("Expected out to hold " + std::to_string(p.src.numel) + " elements but it holds " + std::to_string(p.dst.numel));
  }
  bool same = p.src.dtype == p.dst.dtype;
  if (!same && !(dtype_is_float(p.src.dtype) && dtype_is_float(p.dst.dtype))) {
    return Unsupported(std::string("cast from ") + dtype_name(p.src.dtype) + " to " + dtype_name(p.dst.dtype) +
                       " is not supported (float32, float16 and bfloat16 convert among themselves)");
  }
  if (p.src.device != p.dst.device && !same) {
    return Unsupported("a transfer between devices keeps the dtype; cast before or after moving");
  }
  if (p.src.device.is_cuda() && p.dst.device.is_cuda() && p.src.device != p.dst.device) {
    return Unsupported("copies between two CUDA devices go through the host: use .to('cpu') first");
  }
  return Status::Ok();
}

Status cast(const CastParams& p) {
  TK_RETURN_IF_ERROR(validate(p));
  size_t bytes = p.src.nbytes();
  if (p.src.device.is_cpu() && p.dst.device.is_cuda()) return cuda::copy_to_device(p.dst.device.index, p.dst.data, p.src.data, bytes);
  if (p.src.device.is_cuda() && p.dst.device.is_cpu()) return cuda::copy_to_host(p.src.device.index, p.dst.data, p.src.data, bytes);
  if (p.src.device.is_cuda()) return cast_cuda(p);
  return cast_cpu(p);
}

#if !defined(TK_WITH_CUDA)
Status cast_cuda(const CastParams&) { return NoGpu("built without CUDA"); }
#endif

}  // namespace tk
